using System.Collections.Concurrent;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.LlmJobs;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.Providers;
using Sagas.Persistence;

namespace Sagas.LlmJobs.Consumers;

/// <summary>
/// Sends a slice of a job's queued items to the provider and records each provider task id (or the permanent
/// rejection) through the ledger; then continues itself until no queued item is left, and reports the start.
/// Slicing keeps a 50,000-item job from holding one message for an hour and lets higher-priority work interleave.
/// </summary>
public sealed class StartLlmJobItemsConsumer(
    SagasDbContext db,
    LlmJobLedger ledger,
    LlmJobProviderCatalog providers,
    LlmJobsOptions options,
    TimeProvider clock,
    ILogger<StartLlmJobItemsConsumer> logger) : IConsumer<StartLlmJobItems>
{
    public async Task Consume(ConsumeContext<StartLlmJobItems> context)
    {
        var jobId = context.Message.JobId;
        var job = await db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId, context.CancellationToken);
        if (job is null || !job.IsActive)
            return;

        var provider = providers.Get(job.Provider);
        var slice = await db.Set<LlmJobItem>().AsNoTracking()
            .Where(i => i.JobId == jobId && i.Status == LlmJobItemStatus.Queued)
            .OrderBy(i => i.Sequence)
            .Take(job.Mode == LlmJobMode.Batch ? provider.Limits.MaxItemsPerBatch : options.Submission.SliceSize)
            .ToListAsync(context.CancellationToken);

        var (changes, transientFailure) = job.Mode == LlmJobMode.Batch
            ? await SubmitBatchAsync(job, provider, slice, context.CancellationToken)
            : await SubmitEachAsync(job, provider, slice, context.CancellationToken);

        var remaining = slice.Count - changes.Count;
        await ledger.ApplyAsync(jobId, changes, leaseId: null, adjustJob: (stored, _) =>
        {
            if (stored.Status == LlmJobStatus.Queued)
            {
                stored.Status = LlmJobStatus.Running;
                stored.StartedAt = clock.GetUtcNow();
            }

            stored.NextPollAt ??= clock.GetUtcNow() + TimeSpan.FromMilliseconds(stored.PollIntervalMs);
        }, stopReason: null, context.CancellationToken);

        if (transientFailure is not null)
        {
            // What reached the provider is recorded; the rest is tried again when the provider says it may be.
            var delay = transientFailure.Error.RetryAfter ?? transientFailure.RateLimit.SuggestedDelay ?? options.Polling.MinInterval;
            logger.LogWarning("Submitting LLM job {JobId}: {Remaining} item(s) not sent yet, retrying in {Delay}: {Error}", jobId, remaining, delay, transientFailure.Error);
            await context.SchedulePublish(delay, new StartLlmJobItems(jobId));
            return;
        }

        var stillQueued = await db.Set<LlmJobItem>().AnyAsync(i => i.JobId == jobId && i.Status == LlmJobItemStatus.Queued, context.CancellationToken);
        if (stillQueued)
        {
            await context.Publish(new StartLlmJobItems(jobId), publish => publish.TrySetPriority((byte)job.Priority));
            return;
        }

        var rejected = await db.Set<LlmJobItem>().CountAsync(i => i.JobId == jobId && i.Status == LlmJobItemStatus.Failed && i.ProviderTaskId == null && i.ProviderBatchId == null, context.CancellationToken);
        await context.Publish(new LlmJobStarted(jobId, job.TotalItems - rejected, rejected));
    }

    private async Task<(List<ItemChange> Changes, LlmProviderException? Transient)> SubmitEachAsync(
        LlmJob job, ILlmJobProvider provider, List<LlmJobItem> slice, CancellationToken cancellationToken)
    {
        var changes = new ConcurrentBag<ItemChange>();
        LlmProviderException? transient = null;
        await Parallel.ForEachAsync(slice, new ParallelOptions { MaxDegreeOfParallelism = options.Submission.Parallelism, CancellationToken = cancellationToken }, async (item, token) =>
        {
            try
            {
                var submission = await provider.SubmitItemAsync(new LlmItemRequest(item.ItemId, job.Model, job.Instructions, item.Input), token);
                changes.Add(new ItemChange(item.ItemId, LlmJobItemStatus.Processing, ProviderTaskId: submission.ProviderTaskId));
            }
            catch (LlmProviderException exception) when (!exception.IsTransient)
            {
                changes.Add(new ItemChange(item.ItemId, LlmJobItemStatus.Failed, Error: exception.Error.ToString()));
            }
            catch (LlmProviderException exception)
            {
                Interlocked.CompareExchange(ref transient, exception, null);
            }
        });
        return ([.. changes], transient);
    }

    private async Task<(List<ItemChange> Changes, LlmProviderException? Transient)> SubmitBatchAsync(
        LlmJob job, ILlmJobProvider provider, List<LlmJobItem> slice, CancellationToken cancellationToken)
    {
        if (slice.Count == 0)
            return ([], null);

        var requests = slice.Select(item => new LlmItemRequest(item.ItemId, job.Model, job.Instructions, item.Input)).ToList();
        var chunk = provider.PlanBatches(requests)[0];
        try
        {
            var batch = await provider.SubmitBatchAsync(new LlmBatchRequest($"{job.Id:N}-{slice[0].Sequence}", chunk), cancellationToken);
            // Saved by the ledger's transaction together with the items that now point at it.
            db.Add(new LlmJobBatch
            {
                JobId = job.Id,
                BatchId = batch.BatchId,
                Status = batch.Status.ProviderStatus,
                ItemCount = batch.ItemCount,
                InputFileId = batch.InputFileId,
                CreatedAt = clock.GetUtcNow(),
            });
            return ([.. chunk.Select(request => new ItemChange(request.ItemId, LlmJobItemStatus.Processing, ProviderBatchId: batch.BatchId))], null);
        }
        catch (LlmProviderException exception) when (!exception.IsTransient)
        {
            return ([.. chunk.Select(request => new ItemChange(request.ItemId, LlmJobItemStatus.Failed, Error: exception.Error.ToString()))], null);
        }
        catch (LlmProviderException exception)
        {
            return ([], exception);
        }
    }
}
