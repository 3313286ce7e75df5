using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sagas.Messaging.SagaHistory;
using Sagas.Messaging.SagaRepository;

namespace Sagas.Integration.Tests.Persistence.TestSagas;

/// <summary>The tests' own model: test sagas never enter the production <c>SagasDbContext</c>.</summary>
public sealed class PersistenceTestDbContext(DbContextOptions<PersistenceTestDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfiguration(new CounterStateMap());
        // The run history, as the production model has it: every repository spec also records history.
        modelBuilder.ApplyConfiguration(new SagaHistoryMapping());
    }
}

public sealed class CounterStateMap : SagaStateMap<CounterState>
{
    protected override void ConfigureState(EntityTypeBuilder<CounterState> builder)
    {
        builder.ToTable("counter_state", "saga_tests");
        builder.Property(x => x.CurrentState).HasMaxLength(64);
        builder.Property(x => x.Group).HasMaxLength(64);
        builder.HasIndex(x => x.Group);
    }
}
