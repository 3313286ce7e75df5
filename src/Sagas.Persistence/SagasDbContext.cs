using Microsoft.EntityFrameworkCore;

namespace Sagas.Persistence;

/// <summary>
/// The one database context of the system: saga state and the domain tables of the three workflows.
/// Every persisted type lives in this assembly (one folder per feature) so that migrations see the whole model.
/// </summary>
public class SagasDbContext(DbContextOptions<SagasDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(SagasDbContext).Assembly);
    }
}
