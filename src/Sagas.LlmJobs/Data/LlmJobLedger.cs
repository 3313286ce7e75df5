using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;
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
        var pollOnly = changes.Where(IsPollOnly).Select(c => c.ItemId).Distinct(StringComparer.Ordinal)
            .Except(changed.Select(c => c.ItemId), StringComparer.Ordinal).ToList();
        var touched = pollOnly.Count == 0 ? 0 : await StampPolledAsync(jobId, pollOnly, now, cancellationToken);

        // Results that end items (the poller's other common case, and a stop's cancellations) need none of the tracked
        // path's checks of claims and provider tasks: on PostgreSQL they are applied as a set. Everything else, and
        // everything on SQLite, goes through the tracked path.
        var finishing = FinishingAsSet(changed);
        var tracked = finishing.Count == 0 ? changed : changed.Where(c => !finishing.ContainsKey(c.ItemId)).ToList();
        var ids = tracked.Select(c => c.ItemId).Distinct(StringComparer.Ordinal).ToList();
        var items = ids.Count == 0
            ? new Dictionary<string, LlmJobItem>(StringComparer.Ordinal)
            : await db.Set<LlmJobItem>().Where(i => i.JobId == jobId && ids.Contains(i.ItemId)).ToDictionaryAsync(i => i.ItemId, StringComparer.Ordinal, cancellationToken);

        var transitions = 0;
        var decided = new List<Decided>();
        var refused = new List<string>();
        var acceptedBatches = new HashSet<string>(StringComparer.Ordinal);
        var calls = new List<ModelCall>();
        var unpaid = new List<string>();
        foreach (var ended in await FinishAsSetAsync(jobId, finishing.Values, now, cancellationToken))
        {
            var change = finishing[ended.ItemId];
            switch (ended.Status)
            {
                case LlmJobItemStatus.Succeeded:
                    job.SucceededItems++;
                    decided.Add(new Decided(ended.EntityType, ended.EntityId, ended.ItemId, change.Decision!));
                    break;
                case LlmJobItemStatus.Failed:
                    job.FailedItems++;
                    break;
                default:
                    job.CancelledItems++;
                    break;
            }

            job.ProcessedItems++;
            transitions++;
            touched++;
            if (change.Usage is { } used)
                calls.Add(UsageOf(job, ended.ItemId, used, now));
            else
                unpaid.Add(UsageKey(job.Id, ended.ItemId));
        }

        foreach (var change in tracked)
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
                    decided.Add(new Decided(item.EntityType, item.EntityId, item.ItemId, decision));
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
                calls.Add(UsageOf(job, item.ItemId, used, now));
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
    private async Task ApplyFlagsAsync(LlmJob job, List<Decided> decided, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (decided.Count == 0)
            return;
        var written = db.Database.IsNpgsql()
            ? await UpsertFlagsAsSetAsync(job, decided, now, cancellationToken)
            : await UpsertFlagsTrackedAsync(job, decided, now, cancellationToken);
        await outbox.AddNowAsync(
            [.. decided.Where(d => written.Contains((d.EntityType, d.EntityId))).Select(d => new EntityFlagged(d.EntityType, d.EntityId,
                d.Decision.Flagged, d.Decision.Category, d.Decision.Confidence, d.Decision.Reason, job.Id, d.ItemId, job.Model, job.Simulated, now))],
            cancellationToken);
    }

    private async Task<HashSet<(string, string)>> UpsertFlagsTrackedAsync(LlmJob job, List<Decided> decided, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var written = new HashSet<(string, string)>();
        foreach (var group in decided.GroupBy(d => d.EntityType, StringComparer.Ordinal))
        {
            var entityIds = group.Select(d => d.EntityId).Distinct(StringComparer.Ordinal).ToList();
            var existing = await db.Set<EntityFlag>()
                .Where(f => f.EntityType == group.Key && entityIds.Contains(f.EntityId))
                .ToDictionaryAsync(f => f.EntityId, StringComparer.Ordinal, cancellationToken);
            foreach (var (entityType, entityId, itemId, decision) in group)
            {
                if (!existing.TryGetValue(entityId, out var flag))
                {
                    flag = new EntityFlag { EntityType = entityType, EntityId = entityId };
                    db.Add(flag);
                    existing[entityId] = flag;
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
                flag.ItemId = itemId;
                flag.Model = job.Model;
                flag.Simulated = job.Simulated;
                flag.DecidedAt = now;
                written.Add((entityType, entityId));
            }
        }

        return written;
    }

    // One INSERT … ON CONFLICT for every entity: a row decided later than this call is left alone (the WHERE of the
    // DO UPDATE), and PostgreSQL re-checks that condition on the newest row when another job's transaction wrote it first.
    // One statement may not touch a row twice, so an entity decided by two items of this call gets the last decision,
    // as the tracked path leaves it.
    private async Task<HashSet<(string, string)>> UpsertFlagsAsSetAsync(LlmJob job, List<Decided> decided, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var last = decided.GroupBy(d => (d.EntityType, d.EntityId)).Select(g => g.Last()).ToList();
        const string sql = """
            INSERT INTO entity_flags AS f (entity_type, entity_id, flagged, category, confidence, reason, job_id, item_id, model, simulated, decided_at)
            SELECT d.entity_type, d.entity_id, d.flagged, d.category, d.confidence, d.reason, @job, d.item_id, @model, @simulated, @now
            FROM unnest(@types, @entities, @flagged, @categories, @confidences, @reasons, @items)
                AS d(entity_type, entity_id, flagged, category, confidence, reason, item_id)
            ON CONFLICT (entity_type, entity_id) DO UPDATE SET
                flagged = excluded.flagged, category = excluded.category, confidence = excluded.confidence, reason = excluded.reason,
                job_id = excluded.job_id, item_id = excluded.item_id, model = excluded.model, simulated = excluded.simulated,
                decided_at = excluded.decided_at
            WHERE f.decided_at <= excluded.decided_at
            RETURNING f.entity_type, f.entity_id
            """;
        var written = new HashSet<(string, string)>();
        await foreach (var row in QueryAsync(sql,
            [
                new NpgsqlParameter<Guid>("job", job.Id),
                new NpgsqlParameter<string>("model", job.Model),
                new NpgsqlParameter<bool>("simulated", job.Simulated),
                new NpgsqlParameter<DateTimeOffset>("now", now),
                new NpgsqlParameter<string[]>("types", [.. last.Select(d => d.EntityType)]),
                new NpgsqlParameter<string[]>("entities", [.. last.Select(d => d.EntityId)]),
                new NpgsqlParameter<bool[]>("flagged", [.. last.Select(d => d.Decision.Flagged)]),
                new NpgsqlParameter<string[]>("categories", [.. last.Select(d => d.Decision.Category)]),
                new NpgsqlParameter<double[]>("confidences", [.. last.Select(d => d.Decision.Confidence)]),
                new NpgsqlParameter<string[]>("reasons", [.. last.Select(d => d.Decision.Reason)]),
                new NpgsqlParameter<string[]>("items", [.. last.Select(d => d.ItemId)]),
            ], reader => (reader.GetString(0), reader.GetString(1)), cancellationToken))
            written.Add(row);
        return written;
    }

    /// <summary>
    /// The changes of this call that may be applied as a set: on PostgreSQL, results that end an item (succeeded, failed,
    /// cancelled) without a submit claim, provider task or batch to check, one per item (an item named twice keeps the
    /// tracked path, which applies the first and ignores the rest).
    /// </summary>
    private Dictionary<string, ItemChange> FinishingAsSet(List<ItemChange> changed)
    {
        var finishing = new Dictionary<string, ItemChange>(StringComparer.Ordinal);
        if (changed.Count == 0 || !db.Database.IsNpgsql())
            return finishing;
        foreach (var group in changed.GroupBy(c => c.ItemId, StringComparer.Ordinal))
        {
            if (group.Count() == 1 && group.First() is { Status: LlmJobItemStatus.Succeeded or LlmJobItemStatus.Failed or LlmJobItemStatus.Cancelled,
                SubmitClaim: null, ProviderTaskId: null, ProviderBatchId: null } change)
                finishing.Add(change.ItemId, change);
        }

        return finishing;
    }

    /// <summary>
    /// Ends the items in one UPDATE, writing what the tracked path writes for such a result, and only where the item is
    /// not terminal yet: a redelivered result matches no row and counts nothing. Returns the items it ended.
    /// </summary>
    private async Task<List<Ended>> FinishAsSetAsync(Guid jobId, IReadOnlyCollection<ItemChange> finishing, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (finishing.Count == 0)
            return [];
        var rows = finishing.Select(c => c switch
        {
            { Status: LlmJobItemStatus.Succeeded, Decision: { } decision } => new Ending(c.ItemId, LlmJobItemStatus.Succeeded, decision.Flagged,
                decision.Category, decision.Confidence, decision.Reason, null, c.Usage),
            { Status: LlmJobItemStatus.Cancelled } => new Ending(c.ItemId, LlmJobItemStatus.Cancelled, false, null, 0d, null,
                c.Error is null ? null : Truncate(c.Error, 4000), c.Usage),
            _ => new Ending(c.ItemId, LlmJobItemStatus.Failed, false, null, 0d, null,
                Truncate(c.Error ?? "The provider reported success without a decision.", 4000), c.Usage),
        }).ToList();
        const string sql = """
            UPDATE llm_job_items AS i SET
                status = c.status,
                submit_claim_id = NULL,
                submit_claimed_until = NULL,
                last_polled_at = @now,
                poll_count = i.poll_count + 1,
                completed_at = @now,
                input_tokens = COALESCE(c.input_tokens, i.input_tokens),
                output_tokens = COALESCE(c.output_tokens, i.output_tokens),
                flagged = CASE WHEN c.status = 'succeeded' THEN c.flagged ELSE i.flagged END,
                category = CASE WHEN c.status = 'succeeded' THEN c.category ELSE i.category END,
                confidence = CASE WHEN c.status = 'succeeded' THEN c.confidence ELSE i.confidence END,
                reason = CASE WHEN c.status = 'succeeded' THEN c.reason ELSE i.reason END,
                error = CASE WHEN c.status = 'succeeded' THEN i.error ELSE c.error END
            FROM unnest(@ids, @statuses, @flagged, @categories, @confidences, @reasons, @errors, @input_tokens, @output_tokens)
                AS c(item_id, status, flagged, category, confidence, reason, error, input_tokens, output_tokens)
            WHERE i.job_id = @job AND i.item_id = c.item_id AND i.status NOT IN ('succeeded', 'failed', 'cancelled')
            RETURNING i.item_id, i.status, i.entity_type, i.entity_id
            """;
        var ended = new List<Ended>(rows.Count);
        await foreach (var row in QueryAsync(sql,
            [
                new NpgsqlParameter<Guid>("job", jobId),
                new NpgsqlParameter<DateTimeOffset>("now", now),
                new NpgsqlParameter<string[]>("ids", [.. rows.Select(r => r.ItemId)]),
                new NpgsqlParameter<string[]>("statuses", [.. rows.Select(r => r.Status)]),
                new NpgsqlParameter<bool[]>("flagged", [.. rows.Select(r => r.Flagged)]),
                new NpgsqlParameter("categories", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => r.Category).ToArray() },
                new NpgsqlParameter<double[]>("confidences", [.. rows.Select(r => r.Confidence)]),
                new NpgsqlParameter("reasons", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => r.Reason).ToArray() },
                new NpgsqlParameter("errors", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => r.Error).ToArray() },
                new NpgsqlParameter("input_tokens", NpgsqlDbType.Array | NpgsqlDbType.Integer)
                    { Value = rows.Select(r => r.Usage is { } u ? (int?)Math.Min(int.MaxValue, u.InputTokens) : null).ToArray() },
                new NpgsqlParameter("output_tokens", NpgsqlDbType.Array | NpgsqlDbType.Integer)
                    { Value = rows.Select(r => r.Usage is { } u ? (int?)Math.Min(int.MaxValue, u.OutputTokens) : null).ToArray() },
            ], reader => new Ended(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)), cancellationToken))
            ended.Add(row);
        return ended;
    }

    // A statement the model cannot express, run on the context's connection inside its current transaction.
    private async IAsyncEnumerable<T> QueryAsync<T>(string sql, NpgsqlParameter[] parameters, Func<DbDataReader, T> read,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = sql;
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        command.Parameters.AddRange(parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            yield return read(reader);
    }

    private sealed record Decided(string EntityType, string EntityId, string ItemId, FlagDecision Decision);

    private sealed record Ending(string ItemId, string Status, bool Flagged, string? Category, double Confidence, string? Reason, string? Error, LlmTokenUsage? Usage);

    private sealed record Ended(string ItemId, string Status, string EntityType, string EntityId);

    /// <summary>
    /// An item's one model call, recorded when its result makes it terminal (which happens once: a terminal item never
    /// changes again, and the key would skip a second row anyway). Batch items get the batch discount.
    /// </summary>
    private static ModelCall UsageOf(LlmJob job, string itemId, LlmTokenUsage used, DateTimeOffset now) =>
        new(UsageKey(job.Id, itemId), LlmJobsModule.WorkflowName, job.Provider, job.Model, used.InputTokens, used.OutputTokens)
        {
            At = now,
            RunId = job.Id,
            ItemId = itemId,
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
