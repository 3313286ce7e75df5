using Sagas.PromptAnalyses.Calls;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.PromptAnalyses.Calls;

public class When_deciding_whether_to_retry
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(PlatformErrorKind.RateLimited, true, 429, true)]
    [InlineData(PlatformErrorKind.ServerError, true, 500, true)]
    [InlineData(PlatformErrorKind.Overloaded, true, 529, true)]
    [InlineData(PlatformErrorKind.Timeout, true, 0, true)]
    [InlineData(PlatformErrorKind.Network, true, 0, true)]
    [InlineData(PlatformErrorKind.InvalidRequest, false, 400, false)]
    [InlineData(PlatformErrorKind.Authentication, false, 401, false)]
    [InlineData(PlatformErrorKind.PermissionDenied, false, 403, false)]
    [InlineData(PlatformErrorKind.QuotaExceeded, false, 429, false)]
    [InlineData(PlatformErrorKind.InvalidResponse, false, 200, false)]
    // Even if a platform marked them transient, these fail the same way again.
    [InlineData(PlatformErrorKind.QuotaExceeded, true, 429, false)]
    [InlineData(PlatformErrorKind.InvalidResponse, true, 200, false)]
    public void Should_retry_only_what_can_heal(PlatformErrorKind kind, bool transient, int status, bool expected)
    {
        var policy = new PlatformRetryPolicy(new PlatformRetryOptions());

        Assert.Equal(expected, policy.ShouldRetry(ScriptedPlatform.Error("openai", kind, transient, status, T0)));
    }

    [Fact]
    public void Should_not_hold_a_call_for_a_retry_after_beyond_the_cap()
    {
        var policy = new PlatformRetryPolicy(new PlatformRetryOptions { MaxRetryAfterSeconds = 300 });

        Assert.False(policy.ShouldRetry(ScriptedPlatform.Error("gemini", PlatformErrorKind.RateLimited, true, 429, T0, TimeSpan.FromHours(6))));
        Assert.True(policy.ShouldRetry(ScriptedPlatform.Error("gemini", PlatformErrorKind.RateLimited, true, 429, T0, TimeSpan.FromSeconds(38))));
    }

    [Theory]
    [InlineData(0, 800, 1200)]
    [InlineData(1, 1600, 2400)]
    [InlineData(2, 3200, 4800)]
    public void Should_back_off_exponentially_within_the_jitter_bounds(int retry, double lowestMs, double highestMs)
    {
        var options = new PlatformRetryOptions { BaseDelayMs = 1_000, Jitter = 0.2 };

        var lowest = new PlatformRetryPolicy(options, () => 0).DelayBefore(retry, null);
        var highest = new PlatformRetryPolicy(options, () => 0.999_999_999).DelayBefore(retry, null);
        var sampled = Enumerable.Range(0, 500).Select(_ => new PlatformRetryPolicy(options).DelayBefore(retry, null)).ToList();

        Assert.Equal(lowestMs, lowest.TotalMilliseconds, 3);
        Assert.Equal(highestMs, highest.TotalMilliseconds, 3);
        Assert.All(sampled, delay => Assert.InRange(delay.TotalMilliseconds, lowestMs, highestMs));
        Assert.True(sampled.Distinct().Count() > 1, "jitter must vary the delay");
    }

    [Fact]
    public void Should_cap_the_backoff()
    {
        var policy = new PlatformRetryPolicy(new PlatformRetryOptions { BaseDelayMs = 1_000, MaxDelaySeconds = 5 }, () => 0.5);

        Assert.Equal(TimeSpan.FromSeconds(5), policy.DelayBefore(10, null));
    }

    [Fact]
    public void Should_wait_at_least_the_retry_after()
    {
        var policy = new PlatformRetryPolicy(new PlatformRetryOptions { BaseDelayMs = 1_000 }, () => 0.5);

        Assert.Equal(TimeSpan.FromSeconds(38), policy.DelayBefore(0, TimeSpan.FromSeconds(38)));
        Assert.Equal(TimeSpan.FromSeconds(2), policy.DelayBefore(1, TimeSpan.FromMilliseconds(10)));
    }
}
