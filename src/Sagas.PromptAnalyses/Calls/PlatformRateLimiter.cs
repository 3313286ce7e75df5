using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;

namespace Sagas.PromptAnalyses.Calls;

/// <summary>One request to a platform, with the tokens it is expected to use.</summary>
public readonly record struct PlatformPermitRequest(string Platform, long EstimatedTokens);

/// <summary>
/// A <see cref="PartitionedRateLimiter{TResource}"/> with one partition per platform whose permits come from the shared
/// <see cref="IRateBudgetStore"/>: an acquisition reserves the platform's next slot cluster-wide and completes when the
/// slot arrives. Unlimited platforms are granted at once without touching the store.
/// </summary>
public sealed partial class PlatformRateLimiter(IRateBudgetStore store, PlatformLimitsOptions limits, TimeProvider time, ILogger<PlatformRateLimiter>? logger = null)
    : PartitionedRateLimiter<PlatformPermitRequest>
{
    private const int MaxRequeues = 5;

    private long _granted;
    private long _requeued;
    private long _lateDepartures;
    private long _latenessTicks;
    private long _failedPushes;

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
            // The store names the slot as a wait from the moment it ran the statement, which this process only knows
            // to lie between asking and hearing back: lateness counted from the asking is an upper bound, so a slow
            // answer counts as lateness too.
            var askedAt = time.GetTimestamp();

            // Each permit is one request; a multi-permit acquisition waits for the last of its slots, so it is late
            // for all the others by as much as they are earlier.
            var wait = TimeSpan.Zero;
            var earliest = TimeSpan.MaxValue;
            for (var permit = 0; permit < permitCount; permit++)
            {
                var slot = await store.ReserveAsync(resource.Platform, rate, resource.EstimatedTokens, cancellationToken);
                wait = slot > wait ? slot : wait;
                earliest = slot < earliest ? slot : earliest;
            }

            if (wait > TimeSpan.Zero)
            {
                var waitingSince = time.GetTimestamp();
                await Task.Delay(wait, time, cancellationToken);
                var overslept = time.GetElapsedTime(waitingSince) - wait;
                if (overslept > limits.LateSlotGrace && attempt < MaxRequeues)
                {
                    Interlocked.Increment(ref _requeued);
                    continue;
                }
            }

            DepartLate(resource.Platform, time.GetElapsedTime(askedAt) - earliest);
            return Grant(permitCount);
        }
    }

    /// <summary>
    /// Without this, a request leaving L late after its slot starts only RPM × spacing − L before the request a
    /// minute's worth of slots later, and the margin had to hold the worst L all the time. Moving the later slots on by
    /// L costs the lateness only when it happens. The request goes at once: the slot it could crowd is a minute away.
    /// </summary>
    private void DepartLate(string platform, TimeSpan lateness)
    {
        if (lateness <= limits.LateDepartureThreshold)
            return;
        Interlocked.Increment(ref _lateDepartures);
        Interlocked.Add(ref _latenessTicks, lateness.Ticks);
        var pushed = store.DepartedLateAsync(platform, lateness, CancellationToken.None);
        if (!pushed.IsCompletedSuccessfully)
            _ = AwaitPushAsync(pushed, platform, lateness);
    }

    private async Task AwaitPushAsync(ValueTask pushed, string platform, TimeSpan lateness)
    {
        try
        {
            await pushed;
        }
        catch (Exception failure) when (failure is not OutOfMemoryException)
        {
            // The reservation of the slot this would have protected fails the same way if the store stays unreachable;
            // if it came back, SafetyMargin still covers part of the lateness.
            Interlocked.Increment(ref _failedPushes);
            if (logger is not null)
                LogPushFailed(logger, failure, platform, lateness.TotalMilliseconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not move the {Platform} slots on after a departure {LatenessMs} ms late")]
    private static partial void LogPushFailed(ILogger logger, Exception failure, string platform, double latenessMs);

    /// <summary>Permits granted later than <see cref="PlatformLimitsOptions.LateDepartureThresholdMs"/> after their slot, which moved the later slots on.</summary>
    public long LateDepartures => Interlocked.Read(ref _lateDepartures);

    /// <summary>The total those late departures moved the later slots on by.</summary>
    public TimeSpan Lateness => TimeSpan.FromTicks(Interlocked.Read(ref _latenessTicks));

    /// <summary>Late departures the store could not record.</summary>
    public long FailedPushes => Interlocked.Read(ref _failedPushes);

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
