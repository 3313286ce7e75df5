using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sagas.Persistence;
using Sagas.Persistence.Retention;

namespace Sagas.Modules.Breakers;

/// <summary>
/// One breaker as the cluster shares it. Written only by <see cref="PostgresBreakerStore"/> in short row-locked
/// transactions; mapped here so migrations create it (SQLite keeps breakers in memory: one process).
/// </summary>
public sealed class ProviderBreakerRow
{
    public const string TableName = "provider_breakers";

    public required string Provider { get; set; }

    /// <summary>Empty when calls name no model (the provider's breaker).</summary>
    public required string Model { get; set; }

    /// <summary><c>closed</c>, <c>open</c> or <c>half_open</c>.</summary>
    public required string State { get; set; }

    public long ConsecutiveFailures { get; set; }

    public DateTimeOffset WindowStartedAt { get; set; }

    public long WindowCalls { get; set; }

    public long WindowFailures { get; set; }

    public long TotalCalls { get; set; }

    public long TotalFailures { get; set; }

    public DateTimeOffset? OpenedAt { get; set; }

    public DateTimeOffset? OpenUntil { get; set; }

    public DateTimeOffset? HalfOpenedAt { get; set; }

    public int ProbesClaimed { get; set; }

    public int ProbesSucceeded { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A breaker's change of state: the history the system page shows, deleted by rule <c>breaker-transitions</c>.</summary>
public sealed class ProviderBreakerTransitionRow
{
    public const string TableName = "provider_breaker_transitions";

    public long Id { get; set; }

    public required string Provider { get; set; }

    public required string Model { get; set; }

    public required string FromState { get; set; }

    public required string ToState { get; set; }

    public required string Reason { get; set; }

    public DateTimeOffset At { get; set; }
}

internal sealed class ProviderBreakerMapping : IEntityTypeConfiguration<ProviderBreakerRow>
{
    public void Configure(EntityTypeBuilder<ProviderBreakerRow> builder)
    {
        builder.ToTable(ProviderBreakerRow.TableName);
        builder.HasKey(x => new { x.Provider, x.Model });
        builder.Property(x => x.Provider).HasMaxLength(64);
        builder.Property(x => x.Model).HasMaxLength(128);
        builder.Property(x => x.State).HasMaxLength(16);
    }
}

internal sealed class ProviderBreakerTransitionMapping : IEntityTypeConfiguration<ProviderBreakerTransitionRow>
{
    public void Configure(EntityTypeBuilder<ProviderBreakerTransitionRow> builder)
    {
        builder.ToTable(ProviderBreakerTransitionRow.TableName);
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).ValueGeneratedOnAdd();
        builder.Property(x => x.Provider).HasMaxLength(64);
        builder.Property(x => x.Model).HasMaxLength(128);
        builder.Property(x => x.FromState).HasMaxLength(16);
        builder.Property(x => x.ToState).HasMaxLength(16);
        builder.Property(x => x.Reason).HasMaxLength(200);
        // The system page reads the newest first; retention deletes the oldest first.
        builder.HasIndex(x => x.At);
    }
}

/// <summary>Rule <c>breaker-transitions</c>: transitions older than the period. The breakers' own rows are kept (one per provider and model).</summary>
public sealed class BreakerTransitionsRetention(SagasDbContext db) : IRetentionRule
{
    public const string Name = "breaker-transitions";

    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken) =>
        RetentionBatchResult.Rows(await db.Set<ProviderBreakerTransitionRow>()
            .Where(t => t.At < batch.Cutoff)
            .OrderBy(t => t.At)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken));
}
