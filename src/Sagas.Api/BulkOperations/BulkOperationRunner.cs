using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sagas.Core.Configuration;
using Sagas.Modules.Runs;
using Sagas.Persistence;

namespace Sagas.Api.BulkOperations;

public sealed class BulkOperationsOptions
{
    public const string SectionName = "Api:BulkOperations";

    /// <summary>Items per batch: each batch is one query, its commands or redeliveries, and one progress update.</summary>
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
/// Runs the accepted bulk operations in the background of the API, whatever their kind: takes one whose lease is free,
/// then hands it batch after batch to its <see cref="IBulkOperationKind"/>, committing the kind's cursor and counts with
/// a renewed lease after each. Only a batch of ids is ever in memory. A process that stops midway loses its lease and
/// another (or itself, after a restart) resumes from the cursor; each kind makes the batch it may repeat harmless.
/// </summary>
public sealed class BulkOperationRunner(
    IServiceScopeFactory scopes, IEnumerable<IBulkOperationKind> kinds, IOptions<BulkOperationsOptions> options, TimeProvider clock, ILogger<BulkOperationRunner> logger)
    : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Dictionary<string, IBulkOperationKind> _kinds = kinds.ToDictionary(k => k.Kind, StringComparer.Ordinal);

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
                logger.LogError(ex, "A bulk operation batch failed; it is retried from its cursor once its lease lapses");
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

    /// <summary>Takes one running operation whose lease is free and runs it as far as it goes; false when there was none.</summary>
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

    /// <summary>One batch of one operation, in its own scope; false once the operation has finished or stalled.</summary>
    private async Task<bool> RunBatchAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var operation = await db.Set<BulkOperation>().SingleAsync(o => o.Id == id, cancellationToken);
        if (operation.Status != BulkOperationStatus.Running)
            return false;

        if (!_kinds.TryGetValue(operation.Kind, out var kind))
        {
            // Only if a build that knows the kind accepted it and one that does not runs it.
            Finish(operation, BulkOperationStatus.Failed, $"This build cannot run bulk operations of kind '{operation.Kind}'.");
            await db.SaveChangesAsync(cancellationToken);
            return false;
        }

        var outcome = await kind.RunBatchAsync(operation, scope.ServiceProvider, options.Value.BatchSize, cancellationToken);
        switch (outcome.State)
        {
            case BulkBatchState.Finished:
                Finish(operation, BulkOperationStatus.Completed, null);
                break;
            case BulkBatchState.Failed:
                Finish(operation, BulkOperationStatus.Failed, outcome.Error);
                break;
            case BulkBatchState.Stalled:
                // Kept with this process until the lease lapses, then tried again from the saved cursor: a broker that
                // refuses sends is not hammered every poll, and the operator sees why it is not moving.
                operation.Error = Clip(outcome.Error);
                operation.LeaseUntil = clock.GetUtcNow() + options.Value.Lease;
                logger.LogWarning("Bulk operation {OperationId} stalled at {Done} of {Total}; tried again after its lease: {Error}", operation.Id, operation.Done, operation.Total, outcome.Error);
                break;
            default:
                operation.Error = null;
                operation.LeaseUntil = clock.GetUtcNow() + options.Value.Lease;
                break;
        }

        await db.SaveChangesAsync(cancellationToken);
        return outcome.State == BulkBatchState.More;
    }

    private void Finish(BulkOperation operation, string status, string? error)
    {
        operation.Status = status;
        operation.Error = Clip(error);
        operation.FinishedAt = clock.GetUtcNow();
        operation.LeaseUntil = null;
        if (status == BulkOperationStatus.Failed)
            logger.LogWarning("Bulk operation {OperationId} ({Kind}) stopped: {Error}", operation.Id, operation.Kind, error);
        else
            logger.LogInformation("Bulk operation {OperationId} ({Kind}) finished: {Done} of {Total} done, {Skipped} skipped", operation.Id, operation.Kind, operation.Done, operation.Total, operation.Skipped);
    }

    private static string? Clip(string? error) => error is { Length: > 1000 } ? error[..1000] : error;
}

public static class BulkOperationRegistration
{
    public static IServiceCollection AddBulkOperations(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<BulkOperationsOptions>(configuration, BulkOperationsOptions.SectionName);
        services.AddSingleton<IBulkOperationKind, Runs.BulkCancelKind>();
        services.AddSingleton<IBulkOperationKind, System.FailedMessageRedeliveryKind>();
        services.AddSingleton<BulkOperationRunner>();
        services.AddHostedService(provider => provider.GetRequiredService<BulkOperationRunner>());
        return services;
    }
}
