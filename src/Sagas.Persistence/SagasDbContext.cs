using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Sagas.Persistence;

/// <summary>
/// The one database context of the system. It maps nothing itself: the tables come from the <see cref="SagasModel"/>
/// its options carry (see <see cref="PersistenceRegistration.Configure"/>), so infrastructure and each workflow keep
/// their entity configurations beside their code.
/// </summary>
public class SagasDbContext(DbContextOptions<SagasDbContext> options) : DbContext(options)
{
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite has no date type: stored as text, DateTimeOffset cannot be compared or ordered in SQL.
        // A 64-bit encoding keeps order for the UTC values this system writes.
        if (Database.IsSqlite())
        {
            configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
            configurationBuilder.Properties<DateTimeOffset?>().HaveConversion<DateTimeOffsetToBinaryConverter>();
        }
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var model = this.GetService<IDbContextOptions>().FindExtension<SagasModelOptionsExtension>()?.Model
            ?? throw new InvalidOperationException(
                "SagasDbContext was built without a SagasModel; configure its options with PersistenceRegistration.Configure.");
        model.Apply(modelBuilder);
    }
}
