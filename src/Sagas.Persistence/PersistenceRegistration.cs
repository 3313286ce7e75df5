using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Sagas.Persistence.DataProtection;

namespace Sagas.Persistence;

public static class PersistenceRegistration
{
    /// <summary>Registers <see cref="SagasDbContext"/> over <paramref name="model"/> for the configured provider, and the start-up schema step.</summary>
    public static IServiceCollection AddSagasPersistence(this IServiceCollection services, IConfiguration configuration, string contentRoot, SagasModel model)
    {
        services.AddValidatedOptions<DatabaseOptions>(configuration, DatabaseOptions.SectionName);
        var options = configuration.ReadValidatedOptions<DatabaseOptions>(DatabaseOptions.SectionName);
        var provider = options.ParseProvider();
        var connectionString = options.ResolveConnectionString(contentRoot);

        services.AddSingleton(model);
        services.AddSingleton(new DatabaseSettings(provider, connectionString, options.MigrateAtStartup, options.ParseSagaConcurrency()));
        services.AddDbContext<SagasDbContext>(builder => Configure(builder, provider, connectionString, model));
        services.AddHostedService<DatabaseInitializer>();
        // After the schema step (hosted services start in registration order): the key ring's table must exist.
        services.AddSagasDataProtection();
        return services;
    }

    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, DatabaseProvider provider, string connectionString, SagasModel model)
    {
        switch (provider)
        {
            case DatabaseProvider.PostgreSql:
                builder.UseNpgsql(connectionString, npgsql => npgsql
                    .MigrationsHistoryTable("__ef_migrations_history")
                    .MigrationsAssembly(model.MigrationsAssembly.GetName().Name));
                break;
            default:
                builder.UseSqlite(connectionString);
                break;
        }

        ((IDbContextOptionsBuilderInfrastructure)builder).AddOrUpdateExtension(new SagasModelOptionsExtension(model));
        return builder.UseSnakeCaseNamingConvention();
    }
}

/// <summary>What the process resolved from <see cref="DatabaseOptions"/>; read by health checks and the initializer.</summary>
public sealed record DatabaseSettings(DatabaseProvider Provider, string ConnectionString, bool MigrateAtStartup, SagaConcurrencyMode SagaConcurrency = SagaConcurrencyMode.Pessimistic);
