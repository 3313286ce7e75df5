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
