using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.LlmJobs;
using Sagas.LlmJobs.Providers;
using Sagas.Messaging.Outbox;
using Sagas.Modules.Usage;
using Sagas.Modules.Usage.Budgets;
using Sagas.Persistence;

namespace Sagas.LlmJobs.Data;

/// <summary>A change the provider reported for one item.</summary>
/// <param name="SubmitClaim">Set by the submitter: the change applies only while the item is still submitting under this
/// claim. <see cref="LlmJobItemStatus.Queued"/> with a claim hands an item that was not sent back.</param>
public sealed record ItemChange(
    string ItemId,
    string Status,
    FlagDecision? Decision = null,
    LlmTokenUsage? Usage = null,
    string? Error = null,
    string? ProviderTaskId = null,
    string? ProviderBatchId = null,
    Guid? SubmitClaim = null);

public sealed record LedgerResult(bool LeaseHeld, int Transitions, int Touched, bool Finished, LlmJob? Job)
{
    public static LedgerResult LeaseLost { get; } = new(false, 0, 0, false, null);

    /// <summary>
    /// Items whose change was refused: their claim had passed to another delivery, a stop had ended them, or they already
    /// had another provider task. Whatever the provider made for them is an orphan nobody will read.
    /// </summary>
    public IReadOnlyList<string> Refused { get; init; } = [];
}

/// <summary>
/// The only code that moves items between statuses. One transaction per call: it first bumps the job's revision
/// (taking the job's row lock on PostgreSQL, the write lock on SQLite), so item changes of one job are applied one
/// call at a time; an item that is already terminal never changes again, so a redelivered result changes nothing;
/// counters move only with the transitions this call made, which keeps them exact; the events describing the change
/// go into the outbox of the same transaction.
/// </summary>
public sealed class LlmJobLedger(SagasDbContext db, OutboxWriter outbox, UsageLedger usage, TimeProvider clock)
{
    public Task<LedgerResult> ApplyAsync(
        Guid jobId,
        IReadOnlyCollection<ItemChange> changes,
        Guid? leaseId,
        Action<LlmJob, int>? adjustJob,
        LlmJobStopReason? stopReason,
        CancellationToken cancellationToken) =>
        ApplyAsync(jobId, changes, leaseId, adjustJob, stopReason, newBatches: [], cancellationToken);

    /// <param name="newBatches">Provider batches the changes point at; each is stored only if at least one of its items
    /// was accepted, so a batch whose items were all refused leaves no row to poll.</param>
    public async Task<LedgerResult> ApplyAsync(
        Guid jobId,
        IReadOnlyCollection<ItemChange> changes,
        Guid? leaseId,
        Action<LlmJob, int>? adjustJob,
        LlmJobStopReason? stopReason,
        IReadOnlyCollection<LlmJobBatch> newBatches,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var locked = await db.Set<LlmJob>().Where(j => j.Id == jobId)
            .ExecuteUpdateAsync(set => set.SetProperty(j => j.Revision, j => j.Revision + 1), cancellationToken);
        if (locked == 0)
            throw new InvalidOperationException($"LLM job {jobId} does not exist.");

        var job = await db.Set<LlmJob>().SingleAsync(j => j.Id == jobId, cancellationToken);
        if (leaseId is { } lease && job.LeaseId != lease)
            return LedgerResult.LeaseLost;

        // Most polls report "still processing" and nothing else: those items are stamped with one set-based UPDATE
        // instead of being loaded, tracked and written back one row at a time (the poller's hot path). An item with
        // any other change in this call goes through the tracked path below, which stamps it as well.
        var changed = changes.Where(c => !IsPollOnly(c)).ToList();
        var ids = changed.Select(c => c.ItemId).Distinct(StringComparer.Ordinal).ToList();
        var pollOnly = changes.Where(IsPollOnly).Select(c => c.ItemId).Distinct(StringComparer.Ordinal).Except(ids, StringComparer.Ordinal).ToList();
        var touched = pollOnly.Count == 0 ? 0 : await StampPolledAsync(jobId, pollOnly, now, cancellationToken);

        var items = ids.Count == 0
            ? new Dictionary<string, LlmJobItem>(StringComparer.Ordinal)
            : await db.Set<LlmJobItem>().Where(i => i.JobId == jobId && ids.Contains(i.ItemId)).ToDictionaryAsync(i => i.ItemId, StringComparer.Ordinal, cancellationToken);

        var transitions = 0;
        var decided = new List<(LlmJobItem Item, FlagDecision Decision)>();
        var refused = new List<string>();
        var acceptedBatches = new HashSet<string>(StringComparer.Ordinal);
        var calls = new List<ModelCall>();
        var unpaid = new List<string>();
        foreach (var change in changed)
        {
            if (!items.TryGetValue(change.ItemId, out var item))
                continue;
            if (change.SubmitClaim is { } claim && (item.Status != LlmJobItemStatus.Submitting || item.SubmitClaimId != claim))
            {
                refused.Add(change.ItemId);
                continue;
            }

            // One provider task per item: a second one would overwrite the first and leave it billed and unread.
            if (change.ProviderTaskId is { } task && item.ProviderTaskId is { } known && known != task)
            {
                refused.Add(change.ItemId);
                continue;
            }

            if (item.IsTerminal)
                continue;

            if (item.Status == LlmJobItemStatus.Submitting)
            {
                item.SubmitClaimId = null;
                item.SubmitClaimedUntil = null;
            }

            if (change.Status == LlmJobItemStatus.Queued && change.SubmitClaim is not null)
            {
                // Not sent after all (a transient failure, or the chunk was full): the next delivery takes it.
                item.Status = LlmJobItemStatus.Queued;
                continue;
            }

            if (change.ProviderBatchId is { } batchId)
                acceptedBatches.Add(batchId);

            touched++;
            item.LastPolledAt = now;
            item.PollCount++;
            item.ProviderTaskId = change.ProviderTaskId ?? item.ProviderTaskId;
            item.ProviderBatchId = change.ProviderBatchId ?? item.ProviderBatchId;
            if (change.Usage is { } usage)
            {
                item.InputTokens = (int)Math.Min(int.MaxValue, usage.InputTokens);
                item.OutputTokens = (int)Math.Min(int.MaxValue, usage.OutputTokens);
            }

            var status = change.Status;
            switch (status)
            {
                case LlmJobItemStatus.Processing:
                    if (item.Status is LlmJobItemStatus.Queued or LlmJobItemStatus.Submitting)
                    {
                        item.Status = LlmJobItemStatus.Processing;
                        item.SubmittedAt ??= now;
                    }

                    continue;
                case LlmJobItemStatus.Succeeded when change.Decision is { } decision:
                    item.Flagged = decision.Flagged;
                    item.Category = decision.Category;
                    item.Confidence = decision.Confidence;
                    item.Reason = decision.Reason;
                    job.SucceededItems++;
                    decided.Add((item, decision));
                    break;
                case LlmJobItemStatus.Failed:
                case LlmJobItemStatus.Succeeded:
                    item.Error = Truncate(change.Error ?? "The provider reported success without a decision.", 4000);
                    job.FailedItems++;
                    status = LlmJobItemStatus.Failed;
                    break;
                case LlmJobItemStatus.Cancelled:
                    item.Error = change.Error is null ? null : Truncate(change.Error, 4000);
                    job.CancelledItems++;
                    break;
                default:
                    throw new ArgumentException($"Item status '{status}' is not a status an item can move to.", nameof(changes));
            }

            item.Status = status;
            item.CompletedAt = now;
            job.ProcessedItems++;
            transitions++;
            if (change.Usage is { } used)
                calls.Add(UsageOf(job, item, used, now));
            else
                unpaid.Add(UsageKey(job.Id, item.ItemId));
        }

        await usage.RecordAsync(calls, cancellationToken);
        // Items that ended without a billed call (rejected, cancelled, failed without usage) give their reservation back.
        await new BudgetStore(db, clock).ReleaseAsync(unpaid, cancellationToken);

        foreach (var batch in newBatches.Where(b => acceptedBatches.Contains(b.BatchId)))
            db.Add(batch);
        await ApplyFlagsAsync(job, decided, now, cancellationToken);
        adjustJob?.Invoke(job, transitions);

        // The call that makes the last item terminal decides how the job ends, under the job's row lock: a stop for a
        // cancel ends it cancelled only when it got there first; results that finished it first end it completed or
        // failed. The saga, the API, sockets and webhooks all follow this status.
        var finished = false;
        if (job.IsActive && job.ProcessedItems >= job.TotalItems)
        {
            finished = true;
            job.Status = stopReason == LlmJobStopReason.Cancelled ? LlmJobStatus.Cancelled
                : job.SucceededItems > 0 ? LlmJobStatus.Completed
                : LlmJobStatus.Failed;
            job.FinishedAt = now;
            job.NextPollAt = null;
            job.LeaseId = null;
            job.LeaseUntil = null;
            outbox.Add(new LlmJobItemsFinished(job.Id, job.TotalItems, job.SucceededItems, job.FailedItems, job.CancelledItems, job.Status));
        }

        if (transitions > 0)
            outbox.Add(new LlmJobProgressed(job.Id, job.TotalItems, job.ProcessedItems, job.SucceededItems, job.FailedItems, job.CancelledItems));

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outbox.Flush();
        usage.Flush();
        return new LedgerResult(true, transitions, touched, finished, job) { Refused = refused };
    }

    // The entity keeps the latest decision; an older decision arriving late (another job, a redelivery) never wins.
    private async Task ApplyFlagsAsync(LlmJob job, List<(LlmJobItem Item, FlagDecision Decision)> decided, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var group in decided.GroupBy(d => d.Item.EntityType, StringComparer.Ordinal))
        {
            var entityIds = group.Select(d => d.Item.EntityId).Distinct(StringComparer.Ordinal).ToList();
            var existing = await db.Set<EntityFlag>()
                .Where(f => f.EntityType == group.Key && entityIds.Contains(f.EntityId))
                .ToDictionaryAsync(f => f.EntityId, StringComparer.Ordinal, cancellationToken);
            foreach (var (item, decision) in group)
            {
                if (!existing.TryGetValue(item.EntityId, out var flag))
                {
                    flag = new EntityFlag { EntityType = item.EntityType, EntityId = item.EntityId };
                    db.Add(flag);
                    existing[item.EntityId] = flag;
                }
                else if (flag.DecidedAt > now)
                {
                    continue;
                }

                flag.Flagged = decision.Flagged;
                flag.Category = decision.Category;
                flag.Confidence = decision.Confidence;
                flag.Reason = decision.Reason;
                flag.JobId = job.Id;
                flag.ItemId = item.ItemId;
                flag.Model = job.Model;
                flag.Simulated = job.Simulated;
                flag.DecidedAt = now;
                outbox.Add(new EntityFlagged(item.EntityType, item.EntityId, decision.Flagged, decision.Category, decision.Confidence,
                    decision.Reason, job.Id, item.ItemId, job.Model, job.Simulated, now));
            }
        }
    }

    /// <summary>
    /// An item's one model call, recorded when its result makes it terminal (which happens once: a terminal item never
    /// changes again, and the key would skip a second row anyway). Batch items get the batch discount.
    /// </summary>
    private static ModelCall UsageOf(LlmJob job, LlmJobItem item, LlmTokenUsage used, DateTimeOffset now) =>
        new(UsageKey(job.Id, item.ItemId), LlmJobsModule.WorkflowName, job.Provider, job.Model, used.InputTokens, used.OutputTokens)
        {
            At = now,
            RunId = job.Id,
            ItemId = item.ItemId,
            CachedInputTokens = used.CachedInputTokens,
            Batch = job.Mode == LlmJobMode.Batch,
        };

    /// <summary>The key of an item's one model call, in <c>model_usage</c> and in <c>budget_reservations</c>.</summary>
    public static string UsageKey(Guid jobId, string itemId) => $"llm-jobs/{jobId:N}/{itemId}";

    private static bool IsPollOnly(ItemChange change) =>
        change is { Status: LlmJobItemStatus.Processing, Decision: null, Usage: null, Error: null, ProviderTaskId: null, ProviderBatchId: null, SubmitClaim: null };

    // A queued item reported as processing moves to processing, as on the tracked path; a terminal item is left alone.
    private Task<int> StampPolledAsync(Guid jobId, List<string> itemIds, DateTimeOffset now, CancellationToken cancellationToken) =>
        db.Set<LlmJobItem>()
            .Where(i => i.JobId == jobId && itemIds.Contains(i.ItemId)
                && (i.Status == LlmJobItemStatus.Processing || i.Status == LlmJobItemStatus.Queued))
            .ExecuteUpdateAsync(set => set
                .SetProperty(i => i.LastPolledAt, now)
                .SetProperty(i => i.PollCount, i => i.PollCount + 1)
                .SetProperty(i => i.Status, LlmJobItemStatus.Processing)
                .SetProperty(i => i.SubmittedAt, i => i.SubmittedAt ?? now), cancellationToken);

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];
}
