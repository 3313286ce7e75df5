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
using Sagas.Persistence;

namespace Sagas.LlmJobs.Consumers;

/// <summary>
/// Polls one leased job: up to MaxItemsPerJobPerCycle unfinished items (least recently polled first) with
/// Parallelism checks in flight, or its unfinished provider batches; applies what finished through the ledger; and
/// sets the job's next poll: sooner while items finish, later while nothing changes, never before the provider's
/// rate limit resets. Logs and meters every job polled: items polled and updated, job resolved, errors.
/// </summary>
/// <remarks>
/// The next poll is counted from the cycle's lease (the tick's scheduled instant, or the commit that re-leased the job), so
/// poll leases of one job are at least MinInterval apart however long a cycle takes, and a job at the tick's period is
/// polled on every tick. When the next poll is already due as the cycle commits (the cycle took at least the interval,
/// which after a cycle that saw items finish has just halved), the same transaction hands the job a fresh lease and
/// the consumer publishes the next PollLlmJob itself instead of waiting for the tick: cycles run back to back, paced by
/// their own length (MaxItemsPerJobPerCycle items, Parallelism at a time). A cycle with errors counts from its end and
/// waits for the tick, so a failing provider is not called back to back.
/// </remarks>
public sealed class PollLlmJobConsumer(
    SagasDbContext db,
    LlmJobLedger ledger,
    LlmJobProviderCatalog providers,
    LlmJobsOptions options,
    TimeProvider clock,
    ILogger<PollLlmJobConsumer> logger) : IConsumer<PollLlmJob>
{
    private static readonly Counter<long> JobsPolled = SagasTelemetry.Meter.CreateCounter<long>("sagas.llm.poll.jobs_polled");
    private static readonly Counter<long> ItemsPolled = SagasTelemetry.Meter.CreateCounter<long>("sagas.llm.poll.items_polled");
    private static readonly Counter<long> ItemsUpdated = SagasTelemetry.Meter.CreateCounter<long>("sagas.llm.poll.items_updated");
    private static readonly Counter<long> JobsResolved = SagasTelemetry.Meter.CreateCounter<long>("sagas.llm.poll.jobs_resolved");
    private static readonly Counter<long> Errors = SagasTelemetry.Meter.CreateCounter<long>("sagas.llm.poll.errors");

    public async Task Consume(ConsumeContext<PollLlmJob> context)
    {
        var (jobId, lease) = (context.Message.JobId, context.Message.LeaseId);
        var started = clock.GetUtcNow();
        // The interval runs from the lease, so the time the message spent reaching this consumer does not push every
        // later poll back (PollLlmJobsConsumer says why that matters).
        var from = context.Message.LeasedAt is { } leasedAt && leasedAt <= started ? leasedAt : started;
        var job = await db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId, context.CancellationToken);
        if (job is null || job.LeaseId != lease || !job.IsActive)
            return;

        var provider = providers.Get(job.Provider);
        var polling = clock.GetTimestamp();
        var cycle = job.Mode == LlmJobMode.Batch
            ? await PollBatchesAsync(job, provider, context.CancellationToken)
            : await PollItemsAsync(job, provider, context.CancellationToken);

        var applying = clock.GetTimestamp();
        Guid? followUp = null;
        var followUpAt = started;
        var result = await ledger.ApplyAsync(jobId, cycle.Changes, lease, (stored, transitions) =>
        {
            var now = clock.GetUtcNow();
            var interval = TimeSpan.FromMilliseconds(stored.PollIntervalMs);
            interval = transitions > 0 ? interval / 2 : interval * 1.5;
            interval = TimeSpan.FromMilliseconds(Math.Clamp(interval.TotalMilliseconds, options.Polling.MinInterval.TotalMilliseconds, options.Polling.MaxInterval.TotalMilliseconds));
            var next = (cycle.Errors == 0 ? from : now) + interval;
            if (cycle.WaitAtLeast is { } wait && now + wait > next)
                next = now + wait;
            stored.PollIntervalMs = (int)interval.TotalMilliseconds;
            stored.NextPollAt = next;
            stored.LastError = cycle.LastError ?? stored.LastError;

            // Re-leased under the row lock that checked the old lease, so the job still has exactly one holder; a
            // redelivered copy of this message carries the old lease and does nothing. Should the publish below be
            // lost, the lease runs out and the tick takes the job over, as after a lost tick.
            if (next <= now && stored.Status == LlmJobStatus.Running)
            {
                followUp = NewId.NextGuid();
                followUpAt = now;
                stored.LeaseId = followUp;
                stored.LeaseUntil = now + options.Polling.Lease;
            }
            else
            {
                stored.LeaseId = null;
                stored.LeaseUntil = null;
            }
        }, stopReason: null, context.CancellationToken);
        var applied = clock.GetTimestamp();

        if (!result.LeaseHeld)
        {
            logger.LogWarning("LLM job {JobId}: lease {Lease} expired before results were applied; another poller owns the job", jobId, lease);
            return;
        }

        // A job the ledger just finished gave its lease up with its last items.
        if (followUp is { } nextLease && !result.Finished)
            await context.Publish(new PollLlmJob(jobId, nextLease, followUpAt), publish => publish.TrySetPriority((byte)job.Priority));

        var tags = new TagList { { "provider", provider.Name }, { "mode", job.Mode.ToString().ToLowerInvariant() } };
        JobsPolled.Add(1, tags);
        ItemsPolled.Add(cycle.ItemsPolled, tags);
        ItemsUpdated.Add(result.Transitions, tags);
        Errors.Add(cycle.Errors, tags);
        if (result.Finished)
            JobsResolved.Add(1, tags);

        // Where the cycle's time went (waiting in the queue, at the provider, in the ledger): the lag from a result to
        // its job's finish is made of these (docs/performance.md, llm-polling).
        logger.LogInformation(
            "LLM poll of job {JobId}: jobsPolled=1 itemsPolled={ItemsPolled} itemsUpdated={ItemsUpdated} jobsResolved={JobsResolved} errors={Errors} nextPollAt={NextPollAt} followedAtOnce={FollowedAtOnce} queuedMs={QueuedMs} pollMs={PollMs} ledgerMs={LedgerMs}",
            jobId, cycle.ItemsPolled, result.Transitions, result.Finished ? jobId.ToString() : "", cycle.Errors, result.Job?.NextPollAt, followUp is not null && !result.Finished,
            context.SentTime is { } sent ? (long)(started.UtcDateTime - sent).TotalMilliseconds : null,
            (long)clock.GetElapsedTime(polling, applying).TotalMilliseconds, (long)clock.GetElapsedTime(applying, applied).TotalMilliseconds);
    }

    private async Task<PollCycle> PollItemsAsync(LlmJob job, ILlmJobProvider provider, CancellationToken cancellationToken)
    {
        var items = await db.Set<LlmJobItem>().AsNoTracking()
            .Where(i => i.JobId == job.Id && i.Status == LlmJobItemStatus.Processing && i.ProviderTaskId != null)
            .OrderBy(i => i.LastPolledAt != null).ThenBy(i => i.LastPolledAt).ThenBy(i => i.Sequence)
            .Take(options.Polling.MaxItemsPerJobPerCycle)
            .Select(i => new { i.ItemId, i.ProviderTaskId })
            .ToListAsync(cancellationToken);

        var changes = new ConcurrentBag<ItemChange>();
        var errors = 0;
        TimeSpan? waitAtLeast = null;
        string? lastError = null;
        var gate = new object();
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = options.Polling.Parallelism, CancellationToken = cancellationToken }, async (item, token) =>
        {
            try
            {
                var outcome = await provider.GetItemAsync(item.ProviderTaskId!, token);
                changes.Add(ToChange(item.ItemId, outcome.Status, outcome.Decision, outcome.Usage, outcome.Error));
            }
            catch (LlmProviderException exception) when (!exception.IsTransient)
            {
                // The provider will never answer for this task (unknown id, no access): the item cannot finish.
                changes.Add(new ItemChange(item.ItemId, LlmJobItemStatus.Failed, Error: exception.Error.ToString()));
            }
            catch (LlmProviderException exception)
            {
                Interlocked.Increment(ref errors);
                lock (gate)
                {
                    lastError = exception.Error.ToString();
                    var wait = exception.Error.RetryAfter ?? exception.RateLimit.SuggestedDelay;
                    if (wait is { } w && (waitAtLeast is null || w > waitAtLeast))
                        waitAtLeast = w;
                }
            }
        });

        waitAtLeast = Max(waitAtLeast, provider.LatestRateLimit.SuggestedDelay);
        return new PollCycle([.. changes], items.Count, errors, waitAtLeast, lastError);
    }

    private async Task<PollCycle> PollBatchesAsync(LlmJob job, ILlmJobProvider provider, CancellationToken cancellationToken)
    {
        var batches = await db.Set<LlmJobBatch>().Where(b => b.JobId == job.Id && !b.ResultsApplied).ToListAsync(cancellationToken);
        var changes = new List<ItemChange>();
        var errors = 0;
        TimeSpan? waitAtLeast = null;
        string? lastError = null;
        foreach (var batch in batches)
        {
            try
            {
                var status = await provider.GetBatchAsync(batch.BatchId, cancellationToken);
                batch.Status = status.ProviderStatus;
                batch.LastPolledAt = clock.GetUtcNow();
                if (!status.State.IsTerminal())
                    continue;

                batch.OutputFileId = status.OutputFileId;
                batch.ErrorFileId = status.ErrorFileId;
                var results = await provider.ReadBatchResultsAsync(status, cancellationToken);
                changes.AddRange(results.Items.Select(r => ToChange(r.ItemId, r.Status, r.Decision, r.Usage, r.Error)));
                var submitted = await db.Set<LlmJobItem>().AsNoTracking()
                    .Where(i => i.JobId == job.Id && i.ProviderBatchId == batch.BatchId)
                    .Select(i => i.ItemId)
                    .ToListAsync(cancellationToken);
                var reason = status.State switch
                {
                    LlmBatchState.Expired => "The batch expired before this item was processed.",
                    LlmBatchState.Cancelled => "The batch was cancelled before this item was processed.",
                    _ => $"The batch ended ({status.ProviderStatus}) without a result for this item.",
                };
                changes.AddRange(results.MissingItems(submitted).Select(id => new ItemChange(id, LlmJobItemStatus.Failed, Error: reason)));
                // Saved by the ledger's transaction, together with the item results it stands for.
                batch.ResultsApplied = true;
            }
            catch (LlmProviderException exception) when (exception.IsTransient)
            {
                errors++;
                lastError = exception.Error.ToString();
                waitAtLeast = Max(waitAtLeast, exception.Error.RetryAfter ?? exception.RateLimit.SuggestedDelay);
            }
        }

        return new PollCycle(changes, changes.Count, errors, waitAtLeast, lastError);
    }

    private static ItemChange ToChange(string itemId, LlmItemStatus status, FlagDecision? decision, LlmTokenUsage? usage, LlmProviderError? error) => status switch
    {
        LlmItemStatus.Succeeded => new ItemChange(itemId, LlmJobItemStatus.Succeeded, decision, usage, error?.ToString()),
        LlmItemStatus.Failed => new ItemChange(itemId, LlmJobItemStatus.Failed, Usage: usage, Error: error?.ToString() ?? "The provider reported the item as failed."),
        LlmItemStatus.Cancelled => new ItemChange(itemId, LlmJobItemStatus.Cancelled, Usage: usage, Error: error?.ToString()),
        _ => new ItemChange(itemId, LlmJobItemStatus.Processing),
    };

    private static TimeSpan? Max(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a > b ? a : b;

    private sealed record PollCycle(List<ItemChange> Changes, int ItemsPolled, int Errors, TimeSpan? WaitAtLeast, string? LastError);
}

public sealed class PollLlmJobConsumerDefinition : ConsumerDefinition<PollLlmJobConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<PollLlmJobConsumer> consumerConfigurator, IRegistrationContext context)
    {
        LlmJobQueues.UsePriorities(endpointConfigurator);
        endpointConfigurator.UseDatabaseRetryWithOutbox(context);
    }
}
