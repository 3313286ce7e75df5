using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Sagas.Persistence;

/// <summary>
/// The one database context of the system: saga state and the domain tables of the three workflows.
/// Every persisted type lives in this assembly (one folder per feature) so that migrations see the whole model.
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
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(SagasDbContext).Assembly);
    }
}
