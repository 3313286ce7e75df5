using Microsoft.EntityFrameworkCore;
using Sagas.Persistence;
using Sagas.Persistence.Retention;

namespace Sagas.Notifications.Webhooks;

/// <summary>
/// Rule <c>webhook-deliveries</c>: delivery rows made before the period, except one still being posted. The row is
/// also what makes a late copy of an event post nothing, so the period is the horizon of that promise.
/// </summary>
public sealed class WebhookDeliveriesRetention(SagasDbContext db, TimeProvider clock) : IRetentionRule
{
    public const string Name = "webhook-deliveries";

    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return RetentionBatchResult.Rows(await db.Set<WebhookDelivery>()
            .Where(d => d.CreatedAt < batch.Cutoff && (d.SentAt != null || d.ClaimedUntil <= now))
            .OrderBy(d => d.CreatedAt)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken));
    }
}
