using MassTransit;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.LlmJobs;
using Sagas.LlmJobs.Data;
using Sagas.Persistence;

namespace Sagas.LlmJobs.Api;

/// <summary>
/// What a provider's "this finished" push does: makes the owning job due for polling now. It never reads provider
/// state or writes results; the poller stays the one place that does, under its lease, so a webhook adds no second
/// write path and a duplicate, late or forged-but-signed delivery can at most cause one extra poll.
/// </summary>
public sealed class LlmJobWebhookNudge(SagasDbContext db, IPublishEndpoint publisher, PollTickThrottle throttle, TimeProvider clock)
{
    /// <summary>Pulls forward the job holding the background response <paramref name="responseId"/>; false when none is running.</summary>
    public async Task<bool> ResponseFinishedAsync(string responseId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        // The poller checks the least recently polled items first; a cleared LastPolledAt puts this one at the front,
        // so a job with more items in flight than one cycle checks still picks up the finished one next.
        await db.Set<LlmJobItem>()
            .Where(i => i.ProviderTaskId == responseId && i.Status == LlmJobItemStatus.Processing)
            .ExecuteUpdateAsync(set => set.SetProperty(i => i.LastPolledAt, (DateTimeOffset?)null), cancellationToken);
        var owners = db.Set<LlmJobItem>().Where(i => i.ProviderTaskId == responseId).Select(i => i.JobId);
        return await PullForwardAsync(owners, now, cancellationToken);
    }

    /// <summary>Pulls forward the job holding provider batch <paramref name="batchId"/>; false when none is running.</summary>
    public Task<bool> BatchFinishedAsync(string batchId, CancellationToken cancellationToken)
    {
        var owners = db.Set<LlmJobBatch>().Where(b => b.BatchId == batchId).Select(b => b.JobId);
        return PullForwardAsync(owners, clock.GetUtcNow(), cancellationToken);
    }

    private async Task<bool> PullForwardAsync(IQueryable<Guid> owners, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // One conditional UPDATE: only running jobs, and only ever earlier, so a webhook cannot postpone a poll
        // that rate limits or the adaptive interval already brought closer, and repeating it changes nothing.
        var changed = await db.Set<LlmJob>()
            .Where(j => owners.Contains(j.Id) && j.Status == LlmJobStatus.Running && (j.NextPollAt == null || j.NextPollAt > now))
            .ExecuteUpdateAsync(set => set.SetProperty(j => j.NextPollAt, now), cancellationToken);
        if (changed > 0 && throttle.TryTake(now))
            await publisher.Publish(new PollLlmJobs(), cancellationToken);
        return changed > 0 || await db.Set<LlmJob>().AnyAsync(j => owners.Contains(j.Id) && j.Status == LlmJobStatus.Running, cancellationToken);
    }
}

/// <summary>
/// At most one extra poll tick per interval per API process: a burst of thousands of completions would otherwise
/// queue thousands of identical ticks. A completion that misses the extra tick waits for the scheduled one.
/// </summary>
public sealed class PollTickThrottle(TimeSpan interval)
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(1);

    private long _lastTicks = long.MinValue;

    public bool TryTake(DateTimeOffset now)
    {
        var last = Interlocked.Read(ref _lastTicks);
        return (last == long.MinValue || now.UtcTicks - last >= interval.Ticks)
            && Interlocked.CompareExchange(ref _lastTicks, now.UtcTicks, last) == last;
    }
}
