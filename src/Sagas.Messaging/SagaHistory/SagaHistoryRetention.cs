using Microsoft.EntityFrameworkCore;
using Sagas.Persistence;
using Sagas.Persistence.Retention;

namespace Sagas.Messaging.SagaHistory;

/// <summary>
/// Rule <c>saga-history</c>: the whole history of an instance whose last entry is older than the period. The shared
/// table knows no workflow's final states, so "finished" is read as "no event for the whole period" (longer than any
/// run's deadline or poll interval); an instance that does get an event later starts a new history.
/// </summary>
public sealed class SagaHistoryRetention(SagasDbContext db) : IRetentionRule
{
    public const string Name = "saga-history";

    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken)
    {
        var history = db.Set<SagaHistoryEntry>();
        var due = await history
            .Where(e => e.At < batch.Cutoff && !history.Any(newer => newer.CorrelationId == e.CorrelationId && newer.At >= batch.Cutoff))
            .Select(e => e.CorrelationId)
            .Distinct()
            .Take(batch.Size)
            .ToListAsync(cancellationToken);
        if (due.Count == 0)
            return RetentionBatchResult.None;

        // Deleted by instance, so two runs at once delete each row once and a half-deleted instance is finished next time.
        var deleted = await history.Where(e => due.Contains(e.CorrelationId) && e.At < batch.Cutoff).ExecuteDeleteAsync(cancellationToken);
        return new RetentionBatchResult(due.Count, deleted);
    }
}
