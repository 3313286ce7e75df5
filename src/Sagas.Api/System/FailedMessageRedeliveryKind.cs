using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sagas.Api.BulkOperations;
using Sagas.Messaging.FailedMessages;
using Sagas.Modules.Runs;
using Sagas.Persistence;

namespace Sagas.Api.System;

/// <summary>
/// Redelivery of failed messages (<see cref="BulkOperationKind.Redeliver"/>): the operation's unresolved messages in
/// (faulted_at, id) order from the stored cursor, each sent back by <see cref="FailedMessageRedeliverer"/>, the same
/// path as the one-by-one route. That path claims its row with a conditional update before sending, so a message that
/// another operation, another API process or an operator redelivered first is skipped, never sent twice; a batch
/// repeated after a lost lease finds its rows claimed and skips them too.
/// </summary>
public sealed class FailedMessageRedeliveryKind(IServiceScopeFactory scopes, ILogger<FailedMessageRedeliveryKind> logger) : IBulkOperationKind
{
    public string Kind => BulkOperationKind.Redeliver;

    public async Task<BulkBatchOutcome> RunBatchAsync(BulkOperation operation, IServiceProvider services, int batchSize, CancellationToken cancellationToken)
    {
        var db = services.GetRequiredService<SagasDbContext>();
        var scope = JsonSerializer.Deserialize<FailedMessageRedeliveryScope>(operation.Filter, BulkOperationView.Json);
        if (scope is null || (scope.Group is null) == (scope.Ids is null))
            return BulkBatchOutcome.Failed("The stored operation names neither a group nor ids.");

        var query = scope.Unresolved(db, operation.CreatedAt).AsNoTracking();
        if (operation is { CursorCreatedAt: { } at, CursorId: { } last })
            query = query.Where(m => m.FaultedAt > at || (m.FaultedAt == at && m.Id.CompareTo(last) > 0));
        var batch = await query
            .OrderBy(m => m.FaultedAt).ThenBy(m => m.Id)
            .Select(m => new { m.Id, m.FaultedAt })
            .Take(batchSize)
            .ToListAsync(cancellationToken);

        // A scope of its own: the redeliverer's context must not share the one tracking the operation (it clears its
        // tracker when it puts a message back into the outbox).
        await using (var redelivery = scopes.CreateAsyncScope())
        {
            var redeliverer = redelivery.ServiceProvider.GetRequiredService<FailedMessageRedeliverer>();
            foreach (var message in batch)
            {
                RedeliveryResult result;
                try
                {
                    result = await redeliverer.RedeliverAsync(message.Id, cancellationToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // Not sent, and the row was given back: what was done so far is saved, and this one is tried again.
                    logger.LogWarning(exception, "Bulk operation {OperationId} could not redeliver failed message {FailedMessageId}", operation.Id, message.Id);
                    return BulkBatchOutcome.Stalled($"Failed message {message.Id} could not be sent back: {exception.Message}");
                }

                operation.Done++;
                if (result.Outcome != RedeliveryOutcome.Redelivered)
                    operation.Skipped++;
                operation.CursorCreatedAt = message.FaultedAt;
                operation.CursorId = message.Id;
            }
        }

        if (batch.Count == batchSize)
            return BulkBatchOutcome.More;

        // Messages counted at the start that left the set before the runner reached them (redelivered by someone else,
        // deleted by retention) were skipped too; a message recorded late with an earlier fault time was taken up
        // beyond the count.
        if (operation.Done < operation.Total)
        {
            operation.Skipped += operation.Total - operation.Done;
            operation.Done = operation.Total;
        }

        operation.Total = Math.Max(operation.Total, operation.Done);
        return BulkBatchOutcome.Finished;
    }
}
