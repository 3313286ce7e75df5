using System.Threading.RateLimiting;

namespace Sagas.PromptAnalyses.Calls;

/// <summary>One request to a platform, with the tokens it is expected to use.</summary>
public readonly record struct PlatformPermitRequest(string Platform, long EstimatedTokens);

/// <summary>
/// A <see cref="PartitionedRateLimiter{TResource}"/> with one partition per platform whose permits come from the shared
/// <see cref="IRateBudgetStore"/>: an acquisition reserves the platform's next slot cluster-wide and completes when the
/// slot arrives. Unlimited platforms are granted at once without touching the store.
/// </summary>
public sealed class PlatformRateLimiter(IRateBudgetStore store, PlatformLimitsOptions limits, TimeProvider time)
    : PartitionedRateLimiter<PlatformPermitRequest>
{
    private const int MaxRequeues = 5;

    private long _granted;
    private long _requeued;

    public override RateLimiterStatistics? GetStatistics(PlatformPermitRequest resource) =>
        new() { TotalSuccessfulLeases = Interlocked.Read(ref _granted) };

    /// <summary>Only unlimited platforms can be granted without waiting: the shared store is not asked synchronously.</summary>
    protected override RateLimitLease AttemptAcquireCore(PlatformPermitRequest resource, int permitCount)
    {
        if (permitCount == 0 || limits.RateFor(resource.Platform).IsUnlimited)
            return Grant(permitCount);
        return PlatformLease.Refused;
    }

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(PlatformPermitRequest resource, int permitCount, CancellationToken cancellationToken)
    {
        var rate = limits.RateFor(resource.Platform);
        if (permitCount == 0 || rate.IsUnlimited)
            return Grant(permitCount);

        // A process that wakes up late for its slot (starved of CPU, paused by GC) would send together with the requests
        // of later slots and bunch them at the provider; it gives the stale slot up and queues again instead. After a
        // few tries it goes anyway: starvation that long is not a rate problem.
        for (var attempt = 0; ; attempt++)
        {
            // Each permit is one request; a multi-permit acquisition waits for the last of its slots.
            var wait = TimeSpan.Zero;
            for (var permit = 0; permit < permitCount; permit++)
            {
                var slot = await store.ReserveAsync(resource.Platform, rate, resource.EstimatedTokens, cancellationToken);
                wait = slot > wait ? slot : wait;
            }

            if (wait <= TimeSpan.Zero)
                return Grant(permitCount);
            var waitingSince = time.GetTimestamp();
            await Task.Delay(wait, time, cancellationToken);
            var late = time.GetElapsedTime(waitingSince) - wait;
            if (late <= limits.LateSlotGrace || attempt >= MaxRequeues)
                return Grant(permitCount);
            Interlocked.Increment(ref _requeued);
        }
    }

    /// <summary>Slots given up because this process woke up too late for them.</summary>
    public long Requeued => Interlocked.Read(ref _requeued);

    private PlatformLease Grant(int permitCount)
    {
        Interlocked.Add(ref _granted, permitCount);
        return PlatformLease.Granted;
    }

    private sealed class PlatformLease(bool acquired) : RateLimitLease
    {
        public static readonly PlatformLease Granted = new(true);

        public static readonly PlatformLease Refused = new(false);

        public override bool IsAcquired { get; } = acquired;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
