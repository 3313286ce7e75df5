using Microsoft.Extensions.Time.Testing;
using Sagas.PromptAnalyses.Calls;

namespace Sagas.Components.Tests.PromptAnalyses.Calls;

public class When_a_process_wakes_up_late_for_its_slot
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    /// <summary>Every reservation is one second away, as in a busy queue.</summary>
    private sealed class BusyStore : IRateBudgetStore
    {
        public int Reservations;

        public ValueTask<TimeSpan> ReserveAsync(string platform, PlatformRate rate, long estimatedTokens, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Reservations);
            return ValueTask.FromResult(TimeSpan.FromSeconds(1));
        }

        public ValueTask DepartedLateAsync(string platform, TimeSpan lateness, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask AdjustTokensAsync(string platform, PlatformRate rate, long tokenDelta, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask ObserveAsync(string platform, RateBudgetObservation observation, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    // In both specs the clock moves on by AutoAdvanceAmount each time it is read, so the limiter finds itself that much
    // later than its slot after every wait, as a process starved of CPU would.
    [Fact]
    public async Task Should_give_a_stale_slot_up_and_queue_again()
    {
        var clock = new FakeTimeProvider(T0) { AutoAdvanceAmount = TimeSpan.FromSeconds(2) };
        var store = new BusyStore();
        using var limiter = new PlatformRateLimiter(store, new PlatformLimitsOptions { LateSlotGraceMs = 250 }, clock);

        using var lease = await clock.RunAsync(() => limiter.AcquireAsync(new PlatformPermitRequest("gemini", 0)).AsTask());

        // Always late: five slots given up, then it goes rather than starve.
        Assert.True(lease.IsAcquired);
        Assert.Equal(6, store.Reservations);
        Assert.Equal(5, limiter.Requeued);
    }

    [Fact]
    public async Task Should_keep_a_slot_it_reaches_within_the_grace()
    {
        var clock = new FakeTimeProvider(T0) { AutoAdvanceAmount = TimeSpan.FromMilliseconds(100) };
        var store = new BusyStore();
        using var limiter = new PlatformRateLimiter(store, new PlatformLimitsOptions { LateSlotGraceMs = 250 }, clock);

        using var lease = await clock.RunAsync(() => limiter.AcquireAsync(new PlatformPermitRequest("gemini", 0)).AsTask());

        Assert.True(lease.IsAcquired);
        Assert.Equal(1, store.Reservations);
        Assert.Equal(0, limiter.Requeued);
    }

    [Fact]
    public void Should_grant_an_unlimited_platform_without_asking_the_store()
    {
        var store = new BusyStore();
        using var limiter = new PlatformRateLimiter(store, new PlatformLimitsOptions(), new FakeTimeProvider(T0));

        using var lease = limiter.AttemptAcquire(new PlatformPermitRequest("simulated", 0));

        Assert.True(lease.IsAcquired);
        Assert.Equal(0, store.Reservations);
    }
}

public class When_a_permit_is_granted_late
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    /// <summary>Hands the limiter's reservations to the in-memory store and tells the test the wait of the last one.</summary>
    private sealed class WatchedStore(TimeProvider time) : IRateBudgetStore
    {
        private readonly InMemoryRateBudgetStore _inner = new(time);

        public TimeSpan LastWait { get; private set; }

        public async ValueTask<TimeSpan> ReserveAsync(string platform, PlatformRate rate, long estimatedTokens, CancellationToken cancellationToken) =>
            LastWait = await _inner.ReserveAsync(platform, rate, estimatedTokens, cancellationToken);

        public ValueTask DepartedLateAsync(string platform, TimeSpan lateness, CancellationToken cancellationToken) =>
            _inner.DepartedLateAsync(platform, lateness, cancellationToken);

        public ValueTask AdjustTokensAsync(string platform, PlatformRate rate, long tokenDelta, CancellationToken cancellationToken) =>
            _inner.AdjustTokensAsync(platform, rate, tokenDelta, cancellationToken);

        public ValueTask ObserveAsync(string platform, RateBudgetObservation observation, CancellationToken cancellationToken) =>
            _inner.ObserveAsync(platform, observation, cancellationToken);
    }

    /// <summary>
    /// Acquires one permit and moves the clock to its slot plus <paramref name="lateness"/> in one step, as a process
    /// that oversleeps its timer would find it; returns the time the permit was granted at.
    /// </summary>
    private static async Task<DateTimeOffset> DepartAsync(PlatformRateLimiter limiter, WatchedStore store, FakeTimeProvider clock, TimeSpan lateness)
    {
        var acquiring = limiter.AcquireAsync(new PlatformPermitRequest("gemini", 0)).AsTask();
        if (!acquiring.IsCompleted)
            clock.Advance(store.LastWait + lateness);
        using var lease = await acquiring;
        Assert.True(lease.IsAcquired);
        return clock.GetUtcNow();
    }

    [Fact]
    public async Task Should_move_every_later_slot_on_by_its_lateness()
    {
        var clock = new FakeTimeProvider(T0);
        var store = new WatchedStore(clock);
        var limits = new PlatformLimitsOptions { Gemini = new PlatformLimit { RequestsPerMinute = 60 }, SafetyMargin = 0 };
        using var limiter = new PlatformRateLimiter(store, limits, clock);

        await DepartAsync(limiter, store, clock, TimeSpan.Zero);
        var late = await DepartAsync(limiter, store, clock, TimeSpan.FromMilliseconds(200));
        var next = await DepartAsync(limiter, store, clock, TimeSpan.Zero);

        // The third slot was T0 + 2 s; the second request left at T0 + 1.2 s, so the third waits a full second from then.
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(1_200), late);
        Assert.Equal(late + TimeSpan.FromSeconds(1), next);
        Assert.Equal(1, limiter.LateDepartures);
    }

    [Fact]
    public async Task Should_leave_the_later_slots_alone_for_lateness_within_the_threshold()
    {
        var clock = new FakeTimeProvider(T0);
        var store = new WatchedStore(clock);
        var limits = new PlatformLimitsOptions { Gemini = new PlatformLimit { RequestsPerMinute = 60 }, SafetyMargin = 0, LateDepartureThresholdMs = 20 };
        using var limiter = new PlatformRateLimiter(store, limits, clock);

        await DepartAsync(limiter, store, clock, TimeSpan.Zero);
        await DepartAsync(limiter, store, clock, TimeSpan.FromMilliseconds(15));
        var next = await DepartAsync(limiter, store, clock, TimeSpan.Zero);

        Assert.Equal(T0 + TimeSpan.FromSeconds(2), next);
        Assert.Equal(0, limiter.LateDepartures);
    }

    /// <summary>
    /// The property the provider checks: no 60 s holds more than RPM requests, so every RPM + 1 consecutive departures
    /// span at least a minute. Some permits leave up to 240 ms late (inside the grace, so nobody queues again), far more
    /// than the 60 ms a 0.1 % margin absorbs: only moving the later slots on keeps the minute.
    /// </summary>
    [Fact]
    public async Task Should_keep_every_rpm_plus_one_departures_at_least_a_minute_apart_when_some_leave_late()
    {
        const int rpm = 10;
        var clock = new FakeTimeProvider(T0);
        var store = new WatchedStore(clock);
        var limits = new PlatformLimitsOptions { Gemini = new PlatformLimit { RequestsPerMinute = rpm }, SafetyMargin = 0.001, LateSlotGraceMs = 250 };
        using var limiter = new PlatformRateLimiter(store, limits, clock);
        int[] latenessMs = [240, 0, 30, 0, 0, 120, 0, 0, 0, 5];

        var departures = new List<DateTimeOffset>();
        for (var i = 0; i < 5 * rpm; i++)
            departures.Add(await DepartAsync(limiter, store, clock, TimeSpan.FromMilliseconds(latenessMs[i % latenessMs.Length] * (i / rpm % 2))));

        departures.Sort();
        var shortest = departures.Zip(departures.Skip(rpm), (first, last) => last - first).Min();
        Assert.True(shortest >= TimeSpan.FromMinutes(1), $"{rpm + 1} consecutive departures spanned only {shortest.TotalMilliseconds} ms");
        Assert.Equal(0, limiter.Requeued);
    }
}
