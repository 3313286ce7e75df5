using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Sagas.Persistence;

/// <summary>
/// What the one database holds: the assemblies whose <see cref="IEntityTypeConfiguration{TEntity}"/> classes make up
/// the model (shared infrastructure and every workflow), and the assembly with the migrations of that whole model.
/// <see cref="SagasDbContext"/> knows no table of its own; it is given this.
/// </summary>
public sealed class SagasModel
{
    public SagasModel(IEnumerable<Assembly> configurationAssemblies, Assembly migrationsAssembly)
    {
        ConfigurationAssemblies = configurationAssemblies.Distinct().ToArray();
        MigrationsAssembly = migrationsAssembly;
        // Two processes (or two tests) with the same assemblies share one compiled model.
        Key = string.Join("|", ConfigurationAssemblies.Select(assembly => assembly.FullName).Order(StringComparer.Ordinal));
    }

    public IReadOnlyList<Assembly> ConfigurationAssemblies { get; }

    public Assembly MigrationsAssembly { get; }

    public string Key { get; }

    internal void Apply(ModelBuilder modelBuilder)
    {
        foreach (var assembly in ConfigurationAssemblies)
            modelBuilder.ApplyConfigurationsFromAssembly(assembly);
    }
}

/// <summary>
/// Carries the <see cref="SagasModel"/> inside the context options, so a context built by hand (<c>new SagasDbContext(options)</c>)
/// and one from the container see the same model. EF keeps one compiled model per distinct model key.
/// </summary>
internal sealed class SagasModelOptionsExtension(SagasModel model) : IDbContextOptionsExtension
{
    public SagasModel Model { get; } = model;

    public DbContextOptionsExtensionInfo Info => new ExtensionInfo(this);

    public void ApplyServices(IServiceCollection services)
    {
    }

    public void Validate(IDbContextOptions options)
    {
    }

    private sealed class ExtensionInfo(SagasModelOptionsExtension extension) : DbContextOptionsExtensionInfo(extension)
    {
        private new SagasModelOptionsExtension Extension => (SagasModelOptionsExtension)base.Extension;

        public override bool IsDatabaseProvider => false;

        public override string LogFragment => "";

        public override int GetServiceProviderHashCode() => StringComparer.Ordinal.GetHashCode(Extension.Model.Key);

        public override bool ShouldUseSameServiceProvider(DbContextOptionsExtensionInfo other) =>
            other is ExtensionInfo info && info.Extension.Model.Key == Extension.Model.Key;

        public override void PopulateDebugInfo(IDictionary<string, string> debugInfo) =>
            debugInfo["Sagas:Model"] = Extension.Model.Key;
    }
}
