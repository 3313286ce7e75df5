using Microsoft.EntityFrameworkCore;
using Sagas.Messaging.FailedMessages;
using Sagas.Persistence;
using Sagas.Persistence.Retention;

namespace Sagas.Messaging.Retention;

/// <summary>
/// Rule <c>failed-messages</c>: rows of <c>failed_messages</c> whose last fault is older than the period. The copy in
/// the broker's <c>_error</c> queue is the broker's (its own TTL or an operator's purge); only the index row goes.
/// </summary>
public sealed class FailedMessagesRetention(SagasDbContext db) : IRetentionRule
{
    public const string Name = "failed-messages";

    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken) =>
        RetentionBatchResult.Rows(await db.Set<FailedMessage>()
            .Where(m => m.FaultedAt < batch.Cutoff)
            .OrderBy(m => m.FaultedAt)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken));
}
