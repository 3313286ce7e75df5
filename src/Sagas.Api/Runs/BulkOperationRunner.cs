using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sagas.Core.Configuration;
using Sagas.Modules;
using Sagas.Modules.Runs;
using Sagas.Persistence;

namespace Sagas.Api.Runs;

public sealed class BulkOperationsOptions
{
    public const string SectionName = "Api:BulkOperations";

    /// <summary>Runs per batch: each batch is one query, its cancel commands, and one progress update.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>How often an API process looks for operations to run (one it accepted itself starts at once).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long an operation stays with the process working on it without progress before another may take it over.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Runs the accepted bulk operations in the background of the API: for each, the matching runs workflow by workflow in
/// the run list's order, one batch at a time, publishing each run's cancel command (the workflow's own, as its cancel
/// route does) and then moving the stored cursor and count. Only a batch of ids is ever in memory. A process that stops
/// midway loses its lease and another (or itself, after a restart) resumes from the cursor; the batch it may repeat
/// sends cancels again, which the sagas ignore for runs already cancelled.
/// </summary>
public sealed class BulkOperationRunner(
    IServiceScopeFactory scopes, WorkflowCatalog workflows, IOptions<BulkOperationsOptions> options, TimeProvider clock, ILogger<BulkOperationRunner> logger)
    : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>An operation was just accepted: look now rather than at the next poll.</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken: one look finds every waiting operation.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await RunNextAsync(stoppingToken))
                {
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "A bulk operation batch failed; it is retried from its cursor at the next poll");
            }

            try
            {
                await _wake.WaitAsync(options.Value.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Takes one running operation whose lease is free and runs it to its end; false when there was none.</summary>
    private async Task<bool> RunNextAsync(CancellationToken cancellationToken)
    {
        Guid id;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
            var now = clock.GetUtcNow();
            var candidates = await db.Set<BulkOperation>().AsNoTracking()
                .Where(o => o.Status == BulkOperationStatus.Running)
                .OrderBy(o => o.CreatedAt)
                .Select(o => new { o.Id, o.LeaseUntil })
                .Take(20)
                .ToListAsync(cancellationToken);
            var free = candidates.FirstOrDefault(o => o.LeaseUntil is null || o.LeaseUntil < now);
            if (free is null)
                return false;
            id = free.Id;
            // Claimed only if nobody took it since it was read: the lease is the compare-and-set.
            var lease = now + options.Value.Lease;
            var claimed = free.LeaseUntil is { } held
                ? await db.Set<BulkOperation>().Where(o => o.Id == id && o.LeaseUntil == held).ExecuteUpdateAsync(s => s.SetProperty(o => o.LeaseUntil, lease), cancellationToken)
                : await db.Set<BulkOperation>().Where(o => o.Id == id && o.LeaseUntil == null).ExecuteUpdateAsync(s => s.SetProperty(o => o.LeaseUntil, lease), cancellationToken);
            if (claimed == 0)
                return true;
        }

        while (await RunBatchAsync(id, cancellationToken))
        {
        }

        return true;
    }

    /// <summary>One batch of one operation, in its own scope and transaction; false once the operation has finished.</summary>
    private async Task<bool> RunBatchAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var publisher = scope.ServiceProvider.GetRequiredService<IPublishEndpoint>();
        var operation = await db.Set<BulkOperation>().SingleAsync(o => o.Id == id, cancellationToken);
        if (operation.Status != BulkOperationStatus.Running)
            return false;

        var stored = JsonSerializer.Deserialize<BulkCancelScope>(operation.Filter, BulkCancelEndpoints.Json) ?? new BulkCancelScope(null, null);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var filter = RunFilter.Parse(workflows, stored.Filter ?? new RunFilterValues(null, null, null, null, null, null), errors);
        if (filter is null)
        {
            // Only if the workflows changed since it was accepted (a workflow removed from this build).
            Finish(operation, BulkOperationStatus.Failed, string.Join(" ", errors.Values.SelectMany(v => v)));
            await db.SaveChangesAsync(cancellationToken);
            return false;
        }

        var modules = filter.Modules.Where(m => m.Runs!.CancelCommand(Guid.Empty, null) is not null).ToList();
        if (operation.CursorWorkflow >= modules.Count)
        {
            Finish(operation, BulkOperationStatus.Completed, null);
            await db.SaveChangesAsync(cancellationToken);
            return false;
        }

        var runs = modules[operation.CursorWorkflow].Runs!;
        var query = stored.Query(filter, runs, db, operation.CreatedAt);
        if (operation is { CursorCreatedAt: { } at, CursorId: { } last })
            query = RunFilter.After(query, at, last);
        var size = options.Value.BatchSize;
        var batch = await query
            .OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id)
            .Select(r => new { r.Id, r.CreatedAt })
            .Take(size)
            .ToListAsync(cancellationToken);

        foreach (var run in batch)
        {
            var command = runs.CancelCommand(run.Id, operation.Reason)!;
            await publisher.Publish(command, command.GetType(), cancellationToken);
        }

        operation.Done = Math.Min(operation.Total, operation.Done + batch.Count);
        if (batch.Count < size)
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

        operation.LeaseUntil = clock.GetUtcNow() + options.Value.Lease;
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    private void Finish(BulkOperation operation, string status, string? error)
    {
        operation.Status = status;
        operation.Error = error is { Length: > 1000 } ? error[..1000] : error;
        operation.FinishedAt = clock.GetUtcNow();
        operation.LeaseUntil = null;
        if (status == BulkOperationStatus.Failed)
            logger.LogWarning("Bulk operation {OperationId} stopped: {Error}", operation.Id, error);
        else
            logger.LogInformation("Bulk operation {OperationId} finished: {Done} of {Total} runs sent their cancel command", operation.Id, operation.Done, operation.Total);
    }
}

public static class BulkOperationRegistration
{
    public static IServiceCollection AddBulkOperations(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<BulkOperationsOptions>(configuration, BulkOperationsOptions.SectionName);
        services.AddSingleton<BulkOperationRunner>();
        services.AddHostedService(provider => provider.GetRequiredService<BulkOperationRunner>());
        return services;
    }
}
