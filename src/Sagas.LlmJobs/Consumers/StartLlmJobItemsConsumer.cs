using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.LlmJobs;
using Sagas.Core.Telemetry;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.Providers;
using Sagas.Messaging;
using Sagas.Modules.Usage.Budgets;
using Sagas.Persistence;

namespace Sagas.LlmJobs.Consumers;

/// <summary>
/// Sends a slice of a job's queued items to the provider, once. The slice is claimed first (items move to
/// <c>submitting</c> under this delivery's message id, with a lease), so a second copy of the message, on this worker or
/// another, finds nothing to send. Then the provider is called, and the ledger records each provider task id (or the
/// permanent rejection) only for items this delivery still holds: a stop that ended them meanwhile, or a delivery that
/// took them over after the lease, wins, and what the provider made for them is cancelled there. The consumer continues
/// itself until no queued item is left, and reports the start. Slicing keeps a 50,000-item job from holding one message
/// for an hour and lets higher-priority work interleave.
/// </summary>
public sealed class StartLlmJobItemsConsumer(
    SagasDbContext db,
    LlmJobLedger ledger,
    LlmJobProviderCatalog providers,
    LlmJobsOptions options,
    BudgetStore budgets,
    BudgetEstimator estimator,
    BudgetMetrics budgetMetrics,
    TimeProvider clock,
    ILogger<StartLlmJobItemsConsumer> logger) : IConsumer<StartLlmJobItems>
{
    private static readonly Counter<long> Submissions = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.llm.submissions", description: "Items of LLM jobs at submission, by outcome.");

    /// <summary>How far before an earlier claim began a batch it made may carry an earlier created_at (clock differences).</summary>
    private static readonly TimeSpan ClockSlack = TimeSpan.FromMinutes(5);

    public async Task Consume(ConsumeContext<StartLlmJobItems> context)
    {
        var jobId = context.Message.JobId;
        var cancellationToken = context.CancellationToken;
        var job = await db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (job is null || !job.IsActive)
            return;

        var provider = providers.Get(job.Provider);
        // The message id names this delivery: a redelivery of the same message (a crash, a retry) finds its own claim
        // again; a copy published anew (a duplicate) does not, and leaves the items to the delivery holding them.
        var claim = context.MessageId ?? NewId.NextGuid();
        var slice = await ClaimAsync(jobId, claim, job.Mode == LlmJobMode.Batch ? provider.Limits.MaxItemsPerBatch : options.Submission.SliceSize, cancellationToken);
        if (slice.Count == 0)
        {
            // Held by another delivery, which continues the job when it is done.
            if (await db.Set<LlmJobItem>().AnyAsync(i => i.JobId == jobId && (i.Status == LlmJobItemStatus.Queued || i.Status == LlmJobItemStatus.Submitting), cancellationToken))
                return;
            await PublishStartedAsync(context, job);
            return;
        }

        var tags = new TagList { { "provider", provider.Name }, { "mode", job.Mode.ToString().ToLowerInvariant() } };
        Count("reclaimed", slice.Count(c => c.PreviousClaim is not null), tags);

        // Each item's estimated cost is reserved on the job's budget before anything is sent; what the budget cannot
        // hold is handed back as queued, unsent, and the job pauses until the budget is raised.
        var reservation = await budgets.ReserveAsync([.. slice.Select(c => BudgetCallOf(job, c.Item))], cancellationToken);
        var parked = slice.Skip(reservation.Reserved).Select(c => new ItemChange(c.Item.ItemId, LlmJobItemStatus.Queued, SubmitClaim: claim)).ToList();
        slice = [.. slice.Take(reservation.Reserved)];
        Count("parked", parked.Count, tags);

        var submission = slice.Count == 0 ? new Submission([], [], null)
            : job.Mode == LlmJobMode.Batch
            ? await SubmitBatchAsync(job, provider, claim, slice, tags, cancellationToken)
            : await SubmitEachAsync(job, provider, claim, slice, tags, cancellationToken);
        submission.Changes.AddRange(parked);

        // The provider has been called and may bill for it: the recording is retried here, never the whole message.
        var result = await DatabaseRetry.InPlaceAsync(
            token =>
            {
                db.ChangeTracker.Clear();
                return ledger.ApplyAsync(jobId, submission.Changes, leaseId: null, adjustJob: (stored, _) =>
                {
                    if (!stored.IsActive)
                        return;
                    if (stored.Status == LlmJobStatus.Queued)
                    {
                        stored.Status = LlmJobStatus.Running;
                        stored.StartedAt = clock.GetUtcNow();
                    }

                    stored.NextPollAt ??= clock.GetUtcNow() + TimeSpan.FromMilliseconds(stored.PollIntervalMs);
                }, stopReason: null, submission.NewBatches, token);
            },
            cancellationToken);

        await CancelOrphansAsync(job, provider, submission, result.Refused, tags, cancellationToken);

        if (reservation.Refusal is { } refusal)
        {
            // Not continued: the queued items wait for the resume the API publishes when the budget is raised.
            budgetMetrics.Refused(LlmJobsModule.WorkflowName, refusal);
            logger.LogInformation("LLM job {JobId} paused: {Reason}", jobId, refusal.Reason);
            await context.Publish(new LlmJobPaused(jobId, refusal.Reason));
            return;
        }

        if (submission.Transient is { } transient)
        {
            // What reached the provider is recorded; the rest is tried again when the provider says it may be.
            var delay = transient.Error.RetryAfter ?? transient.RateLimit.SuggestedDelay ?? options.Polling.MinInterval;
            logger.LogWarning("Submitting LLM job {JobId}: {Remaining} item(s) not sent yet, retrying in {Delay}: {Error}",
                jobId, submission.Changes.Count(c => c.Status == LlmJobItemStatus.Queued), delay, transient.Error);
            await context.SchedulePublish(delay, new StartLlmJobItems(jobId));
            return;
        }

        var now = clock.GetUtcNow();
        var claimable = await db.Set<LlmJobItem>().AnyAsync(
            i => i.JobId == jobId && (i.Status == LlmJobItemStatus.Queued || (i.Status == LlmJobItemStatus.Submitting && i.SubmitClaimedUntil < now)),
            cancellationToken);
        if (claimable)
        {
            await context.Publish(new StartLlmJobItems(jobId), publish => publish.TrySetPriority((byte)job.Priority));
            return;
        }

        if (await db.Set<LlmJobItem>().AnyAsync(i => i.JobId == jobId && i.Status == LlmJobItemStatus.Submitting, cancellationToken))
            return;
        await PublishStartedAsync(context, job);
    }

    /// <summary>
    /// Takes up to <paramref name="size"/> items for this delivery: the ones it claimed before (it is a redelivery), else
    /// queued ones and ones whose claim expired, with one conditional update, so that of two deliveries claiming at the
    /// same moment each item goes to exactly one.
    /// </summary>
    private async Task<List<ClaimedItem>> ClaimAsync(Guid jobId, Guid claim, int size, CancellationToken cancellationToken)
    {
        var mine = await db.Set<LlmJobItem>().AsNoTracking()
            .Where(i => i.JobId == jobId && i.Status == LlmJobItemStatus.Submitting && i.SubmitClaimId == claim)
            .OrderBy(i => i.Sequence)
            .ToListAsync(cancellationToken);
        if (mine.Count > 0)
            return [.. mine.Select(i => new ClaimedItem(i, claim, i.SubmitClaimedUntil))];

        var now = clock.GetUtcNow();
        var candidates = await db.Set<LlmJobItem>().AsNoTracking()
            .Where(i => i.JobId == jobId && (i.Status == LlmJobItemStatus.Queued || (i.Status == LlmJobItemStatus.Submitting && i.SubmitClaimedUntil < now)))
            .OrderBy(i => i.Sequence)
            .Take(size)
            .Select(i => new { i.ItemId, i.SubmitClaimId, i.SubmitClaimedUntil })
            .ToListAsync(cancellationToken);
        if (candidates.Count == 0)
            return [];

        var ids = candidates.Select(c => c.ItemId).ToList();
        var until = now + options.Submission.ClaimLease;
        await db.Set<LlmJobItem>()
            .Where(i => i.JobId == jobId && ids.Contains(i.ItemId)
                && (i.Status == LlmJobItemStatus.Queued || (i.Status == LlmJobItemStatus.Submitting && i.SubmitClaimedUntil < now)))
            .ExecuteUpdateAsync(set => set
                .SetProperty(i => i.Status, LlmJobItemStatus.Submitting)
                .SetProperty(i => i.SubmitClaimId, claim)
                .SetProperty(i => i.SubmitClaimedUntil, until), cancellationToken);

        var previous = candidates.ToDictionary(c => c.ItemId, StringComparer.Ordinal);
        var claimed = await db.Set<LlmJobItem>().AsNoTracking()
            .Where(i => i.JobId == jobId && ids.Contains(i.ItemId) && i.Status == LlmJobItemStatus.Submitting && i.SubmitClaimId == claim)
            .OrderBy(i => i.Sequence)
            .ToListAsync(cancellationToken);
        return [.. claimed.Select(i => new ClaimedItem(i, previous[i.ItemId].SubmitClaimId, previous[i.ItemId].SubmitClaimedUntil))];
    }

    private async Task<Submission> SubmitEachAsync(
        LlmJob job, ILlmJobProvider provider, Guid claim, List<ClaimedItem> slice, TagList tags, CancellationToken cancellationToken)
    {
        var reference = Reference(job.Id, claim);
        var changes = new ConcurrentBag<ItemChange>();
        var unknown = new ConcurrentBag<string>();
        LlmProviderException? transient = null;
        await Parallel.ForEachAsync(slice, new ParallelOptions { MaxDegreeOfParallelism = options.Submission.Parallelism, CancellationToken = cancellationToken }, async (claimed, token) =>
        {
            var item = claimed.Item;
            try
            {
                var submission = await provider.SubmitItemAsync(new LlmItemRequest(item.ItemId, job.Model, job.Instructions, item.Input, reference), token);
                changes.Add(new ItemChange(item.ItemId, LlmJobItemStatus.Processing, ProviderTaskId: submission.ProviderTaskId, SubmitClaim: claim));
            }
            catch (LlmProviderException exception) when (!exception.IsTransient)
            {
                changes.Add(new ItemChange(item.ItemId, LlmJobItemStatus.Failed, Error: exception.Error.ToString(), SubmitClaim: claim));
            }
            catch (LlmProviderException exception)
            {
                changes.Add(new ItemChange(item.ItemId, LlmJobItemStatus.Queued, SubmitClaim: claim));
                if (exception.OutcomeUnknown)
                    unknown.Add(item.ItemId);
                Interlocked.CompareExchange(ref transient, exception, null);
            }
        });

        if (!unknown.IsEmpty)
        {
            // The Responses API has no idempotency key and no list to find a response in: sent again later, such an
            // item may cost a second response. Its reference (metadata) is how an operator finds the first one.
            logger.LogWarning("Submitting LLM job {JobId}: no answer for {Count} item(s) ({Items}); they may exist at {Provider} under reference {Reference} and will be sent again",
                job.Id, unknown.Count, string.Join(", ", unknown.Take(20)), provider.Name, reference);
        }

        Count("submitted", changes.Count(c => c.Status == LlmJobItemStatus.Processing), tags);
        Count("rejected", changes.Count(c => c.Status == LlmJobItemStatus.Failed), tags);
        Count("unknown", unknown.Count, tags);
        return new Submission([.. changes], [], transient);
    }

    private async Task<Submission> SubmitBatchAsync(
        LlmJob job, ILlmJobProvider provider, Guid claim, List<ClaimedItem> slice, TagList tags, CancellationToken cancellationToken)
    {
        // Items an earlier delivery claimed may already be in a batch it created before it died: one batch per claim,
        // found by the reference it carries, is adopted instead of paid for twice.
        foreach (var earlier in slice.Where(c => c.PreviousClaim is not null).GroupBy(c => c.PreviousClaim!.Value))
        {
            var claimedAt = (earlier.Min(c => c.PreviousClaimedUntil) ?? clock.GetUtcNow()) - options.Submission.ClaimLease - ClockSlack;
            if (await provider.FindBatchAsync(Reference(job.Id, earlier.Key), claimedAt, cancellationToken) is not { } found)
                continue;

            var adopted = earlier.OrderBy(c => c.Item.Sequence).Take(found.ItemCount).Select(c => c.Item.ItemId).ToHashSet(StringComparer.Ordinal);
            Count("adopted", adopted.Count, tags);
            logger.LogInformation("Submitting LLM job {JobId}: adopted batch {Batch} of an earlier delivery for {Count} item(s)", job.Id, found.BatchId, adopted.Count);
            return new Submission(
                [.. slice.Select(c => adopted.Contains(c.Item.ItemId)
                    ? new ItemChange(c.Item.ItemId, LlmJobItemStatus.Processing, ProviderBatchId: found.BatchId, SubmitClaim: claim)
                    : new ItemChange(c.Item.ItemId, LlmJobItemStatus.Queued, SubmitClaim: claim))],
                [NewBatch(job.Id, found)],
                null);
        }

        var requests = slice.Select(c => new LlmItemRequest(c.Item.ItemId, job.Model, job.Instructions, c.Item.Input)).ToList();
        var chunk = provider.PlanBatches(requests)[0];
        var inChunk = chunk.Select(r => r.ItemId).ToHashSet(StringComparer.Ordinal);
        var left = slice.Where(c => !inChunk.Contains(c.Item.ItemId)).Select(c => new ItemChange(c.Item.ItemId, LlmJobItemStatus.Queued, SubmitClaim: claim)).ToList();
        try
        {
            var batch = await provider.SubmitBatchAsync(new LlmBatchRequest(Reference(job.Id, claim), chunk), cancellationToken);
            Count("submitted", chunk.Count, tags);
            return new Submission(
                [.. chunk.Select(request => new ItemChange(request.ItemId, LlmJobItemStatus.Processing, ProviderBatchId: batch.BatchId, SubmitClaim: claim)), .. left],
                [NewBatch(job.Id, batch)],
                null);
        }
        catch (LlmProviderException exception) when (!exception.IsTransient)
        {
            Count("rejected", chunk.Count, tags);
            return new Submission([.. chunk.Select(request => new ItemChange(request.ItemId, LlmJobItemStatus.Failed, Error: exception.Error.ToString(), SubmitClaim: claim)), .. left], [], null);
        }
        catch (LlmProviderException exception)
        {
            if (exception.OutcomeUnknown)
                Count("unknown", chunk.Count, tags);
            return new Submission([.. slice.Select(c => new ItemChange(c.Item.ItemId, LlmJobItemStatus.Queued, SubmitClaim: claim))], [], exception);
        }
    }

    /// <summary>
    /// Whatever the provider made for items the ledger refused (a stop ended them, another delivery took them over) is
    /// billed work nobody will read: it is cancelled at the provider.
    /// </summary>
    private async Task CancelOrphansAsync(
        LlmJob job, ILlmJobProvider provider, Submission submission, IReadOnlyList<string> refused, TagList tags, CancellationToken cancellationToken)
    {
        if (refused.Count == 0)
            return;

        var refusedIds = refused.ToHashSet(StringComparer.Ordinal);
        var orphans = submission.Changes.Where(c => refusedIds.Contains(c.ItemId) && c.ProviderTaskId is not null).Select(c => c.ProviderTaskId!).ToList();
        foreach (var batch in submission.NewBatches)
        {
            var items = submission.Changes.Where(c => c.ProviderBatchId == batch.BatchId).ToList();
            if (items.Count > 0 && items.All(c => refusedIds.Contains(c.ItemId)))
                orphans.Add(batch.BatchId);
        }

        if (orphans.Count == 0)
            return;

        logger.LogWarning("Submitting LLM job {JobId}: {Count} provider task(s) were made for items no longer this delivery's; cancelling them", job.Id, orphans.Count);
        var batchIds = submission.NewBatches.Select(b => b.BatchId).ToHashSet(StringComparer.Ordinal);
        await Parallel.ForEachAsync(orphans, new ParallelOptions { MaxDegreeOfParallelism = options.Submission.Parallelism, CancellationToken = cancellationToken }, async (orphan, token) =>
        {
            try
            {
                if (batchIds.Contains(orphan))
                    await provider.CancelBatchAsync(orphan, token);
                else
                    await provider.CancelItemAsync(orphan, token);
                Count("orphan_cancelled", 1, tags);
            }
            catch (LlmProviderException exception)
            {
                logger.LogWarning("Could not cancel orphan provider task {Task} of LLM job {JobId}: {Error}", orphan, job.Id, exception.Error);
            }
        });
    }

    /// <summary>An item's call as its budget sees it: keyed like its usage row, estimated from its instructions and input.</summary>
    private BudgetCall BudgetCallOf(LlmJob job, LlmJobItem item) => new(
        LlmJobLedger.UsageKey(job.Id, item.ItemId),
        [BudgetScope.Run(LlmJobsModule.WorkflowName, job.Id)],
        estimator.Estimate(job.Provider, job.Model, job.Instructions.Length + item.Input.Length, batch: job.Mode == LlmJobMode.Batch));

    private async Task PublishStartedAsync(ConsumeContext<StartLlmJobItems> context, LlmJob job)
    {
        var rejected = await db.Set<LlmJobItem>().CountAsync(
            i => i.JobId == job.Id && i.Status == LlmJobItemStatus.Failed && i.ProviderTaskId == null && i.ProviderBatchId == null, context.CancellationToken);
        await context.Publish(new LlmJobStarted(job.Id, job.TotalItems - rejected, rejected));
    }

    private LlmJobBatch NewBatch(Guid jobId, LlmBatchSubmission batch) => new()
    {
        JobId = jobId,
        BatchId = batch.BatchId,
        Status = batch.Status.ProviderStatus,
        ItemCount = batch.ItemCount,
        InputFileId = batch.InputFileId,
        CreatedAt = clock.GetUtcNow(),
    };

    /// <summary>Names what one delivery sends: at most one batch per claim, found again by it.</summary>
    private static string Reference(Guid jobId, Guid claim) => $"sagas-llm-job:{jobId:N}:{claim:N}";

    private static void Count(string outcome, int items, TagList tags)
    {
        if (items <= 0)
            return;
        var tagged = tags;
        tagged.Add("outcome", outcome);
        Submissions.Add(items, tagged);
    }

    private sealed record ClaimedItem(LlmJobItem Item, Guid? PreviousClaim, DateTimeOffset? PreviousClaimedUntil);

    private sealed record Submission(List<ItemChange> Changes, List<LlmJobBatch> NewBatches, LlmProviderException? Transient);
}
