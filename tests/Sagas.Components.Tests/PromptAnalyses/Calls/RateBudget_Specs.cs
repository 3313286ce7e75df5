using Sagas.Core.Http;
using Sagas.PromptAnalyses.Calls;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.PromptAnalyses.Calls;

public class When_reserving_from_a_rate_budget
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Should_space_requests_evenly_so_no_minute_holds_more_than_the_limit()
    {
        var state = new RateBudgetState();
        var rate = new PlatformRate(TimeSpan.FromSeconds(6), TimeSpan.Zero);

        // Everybody asks at once: the slots come out 6 s apart, so any 60 s window holds at most 10.
        var slots = Enumerable.Range(0, 25).Select(_ => state.Reserve(rate, 0, T0)).ToList();

        Assert.Equal(T0, slots[0]);
        Assert.All(slots.Zip(slots.Skip(1)), pair => Assert.Equal(TimeSpan.FromSeconds(6), pair.Second - pair.First));
        Assert.All(slots, slot => Assert.True(slots.Count(s => s >= slot && s < slot + TimeSpan.FromMinutes(1)) <= 10));
    }

    [Fact]
    public void Should_not_bank_unused_time_into_a_burst()
    {
        var state = new RateBudgetState();
        var rate = new PlatformRate(TimeSpan.FromSeconds(6), TimeSpan.Zero);
        state.Reserve(rate, 0, T0);

        var afterIdle = state.Reserve(rate, 0, T0 + TimeSpan.FromMinutes(10));
        var next = state.Reserve(rate, 0, T0 + TimeSpan.FromMinutes(10));

        Assert.Equal(T0 + TimeSpan.FromMinutes(10), afterIdle);
        Assert.Equal(afterIdle + TimeSpan.FromSeconds(6), next);
    }

    [Fact]
    public void Should_hold_the_next_request_until_the_tokens_of_the_last_are_paid_for()
    {
        var state = new RateBudgetState();
        var rate = new PlatformRate(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(10));

        state.Reserve(rate, 1_000, T0);
        var second = state.Reserve(rate, 1_000, T0);
        state.AdjustTokens(rate, 500, T0);
        var third = state.Reserve(rate, 0, T0);

        Assert.Equal(T0 + TimeSpan.FromSeconds(10), second);
        Assert.Equal(T0 + TimeSpan.FromSeconds(25), third);
    }

    [Fact]
    public void Should_move_the_slots_not_yet_handed_out_on_by_a_late_departure()
    {
        var state = new RateBudgetState();
        var rate = new PlatformRate(TimeSpan.FromSeconds(6), TimeSpan.FromMilliseconds(10));

        state.Reserve(rate, 0, T0);
        var reserved = state.Reserve(rate, 100, T0);
        state.DepartedLate(TimeSpan.FromMilliseconds(300));
        var next = state.Reserve(rate, 0, T0);

        // Slot 6 s, then 6 s of spacing (the 100 tokens hold it back only 1 s), then the 300 ms the late one lost.
        Assert.Equal(T0 + TimeSpan.FromSeconds(6), reserved);
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(12_300), next);
    }

    [Fact]
    public void Should_not_hold_an_idle_budget_back_for_a_late_departure_long_past()
    {
        var state = new RateBudgetState();
        var rate = new PlatformRate(TimeSpan.FromSeconds(6), TimeSpan.Zero);

        state.Reserve(rate, 0, T0);
        state.DepartedLate(TimeSpan.FromMilliseconds(300));

        Assert.Equal(T0 + TimeSpan.FromMinutes(1), state.Reserve(rate, 0, T0 + TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public void Should_pause_everyone_for_a_retry_after()
    {
        var state = new RateBudgetState();
        var rate = new PlatformRate(TimeSpan.FromSeconds(1), TimeSpan.Zero);
        var error = ScriptedPlatform.Error("claude", PlatformErrorKind.RateLimited, true, 429, T0, TimeSpan.FromSeconds(30));

        state.Observe(RateBudgetObservation.From(error.RateLimit, error), T0);

        Assert.Equal(T0 + TimeSpan.FromSeconds(30), state.Reserve(rate, 0, T0));
    }

    [Fact]
    public void Should_slow_down_when_the_headers_report_less_remaining_than_the_pace_would_use()
    {
        var state = new RateBudgetState();
        var rate = new PlatformRate(TimeSpan.FromMilliseconds(12), TimeSpan.Zero);
        var snapshot = new RateLimitSnapshot { ObservedAt = T0, RemainingRequests = 5, RequestsResetAt = T0 + TimeSpan.FromSeconds(10) };

        state.Observe(RateBudgetObservation.From(snapshot, null), T0);
        var slots = Enumerable.Range(0, 4).Select(_ => state.Reserve(rate, 0, T0)).ToList();
        var afterReset = state.Reserve(rate, 0, T0 + TimeSpan.FromSeconds(30));
        var paced = state.Reserve(rate, 0, T0 + TimeSpan.FromSeconds(30));

        Assert.Equal([T0, T0.AddSeconds(2), T0.AddSeconds(4), T0.AddSeconds(6)], slots);
        Assert.Equal(TimeSpan.FromMilliseconds(12), paced - afterReset);
    }

    [Fact]
    public void Should_pause_until_the_reset_when_nothing_remains()
    {
        var snapshot = new RateLimitSnapshot
        {
            ObservedAt = T0,
            RemainingRequests = 10,
            RequestsResetAt = T0.AddSeconds(5),
            RemainingTokens = 0,
            TokensResetAt = T0.AddSeconds(20),
        };

        var observation = RateBudgetObservation.From(snapshot, null);

        Assert.Equal(TimeSpan.FromSeconds(20), observation.PauseFor);
        Assert.Equal(TimeSpan.FromMilliseconds(500), observation.RequestIntervalFloor);
    }

    [Fact]
    public void Should_ignore_headers_that_say_nothing_about_the_budget()
    {
        Assert.True(RateBudgetObservation.From(RateLimitSnapshot.None(T0), null).IsEmpty);
    }

    [Fact]
    public void Should_ignore_a_retry_after_on_a_failure_that_is_not_a_rate_limit()
    {
        var error = ScriptedPlatform.Error("claude", PlatformErrorKind.Overloaded, true, 529, T0, TimeSpan.FromSeconds(30));

        Assert.Null(RateBudgetObservation.From(error.RateLimit with { RetryAfter = null }, error).PauseFor);
    }
}
