using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Sagas.Api.BulkOperations;
using Sagas.Modules;
using Sagas.Modules.Runs;
using Sagas.Persistence;

namespace Sagas.Api.Runs;

/// <summary>
/// Bulk cancel (<see cref="BulkOperationKind.Cancel"/>): the matching runs workflow by workflow in the run list's order,
/// publishing each run's cancel command (the workflow's own, as its cancel route does). A batch repeated after a lost
/// lease sends cancels again, which the sagas ignore for runs already cancelled.
/// </summary>
public sealed class BulkCancelKind(WorkflowCatalog workflows) : IBulkOperationKind
{
    public string Kind => BulkOperationKind.Cancel;

    public async Task<BulkBatchOutcome> RunBatchAsync(BulkOperation operation, IServiceProvider services, int batchSize, CancellationToken cancellationToken)
    {
        var db = services.GetRequiredService<SagasDbContext>();
        var publisher = services.GetRequiredService<IPublishEndpoint>();
        var stored = JsonSerializer.Deserialize<BulkCancelScope>(operation.Filter, BulkOperationView.Json) ?? new BulkCancelScope(null, null);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var filter = RunFilter.Parse(workflows, stored.Filter ?? new RunFilterValues(null, null, null, null, null, null), errors);
        if (filter is null)
        {
            // Only if the workflows changed since it was accepted (a workflow removed from this build).
            return BulkBatchOutcome.Failed(string.Join(" ", errors.Values.SelectMany(v => v)));
        }

        var modules = filter.Modules.Where(m => m.Runs!.CancelCommand(Guid.Empty, null) is not null).ToList();
        if (operation.CursorWorkflow >= modules.Count)
            return BulkBatchOutcome.Finished;

        var runs = modules[operation.CursorWorkflow].Runs!;
        var query = stored.Query(filter, runs, db, operation.CreatedAt);
        if (operation is { CursorCreatedAt: { } at, CursorId: { } last })
            query = RunFilter.After(query, at, last);
        var batch = await query
            .OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id)
            .Select(r => new { r.Id, r.CreatedAt })
            .Take(batchSize)
            .ToListAsync(cancellationToken);

        foreach (var run in batch)
        {
            var command = runs.CancelCommand(run.Id, operation.Reason)!;
            await publisher.Publish(command, command.GetType(), cancellationToken);
        }

        operation.Done = Math.Min(operation.Total, operation.Done + batch.Count);
        if (batch.Count < batchSize)
        {
            operation.CursorWorkflow++;
            operation.CursorCreatedAt = null;
            operation.CursorId = null;
        }
        else
        {
            operation.CursorCreatedAt = batch[^1].CreatedAt;
            operation.CursorId = batch[^1].Id;
        }

        return BulkBatchOutcome.More;
    }
}
