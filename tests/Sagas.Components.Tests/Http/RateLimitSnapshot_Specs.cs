using Sagas.Core.Http;

namespace Sagas.Components.Tests.Http;

public sealed class When_rate_limit_headers_are_read
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("6m0s", 360_000)]
    [InlineData("12ms", 12)]
    [InlineData("1.5s", 1_500)]
    [InlineData("1h2m3s", 3_723_000)]
    [InlineData("250us", 0.25)]
    [InlineData("0", 0)]
    [InlineData("0s", 0)]
    public void Should_parse_go_durations(string text, double expectedMilliseconds)
    {
        Assert.True(GoDuration.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), duration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("6 minutes")]
    [InlineData("12")]
    [InlineData("s")]
    [InlineData("-1s")]
    public void Should_reject_text_that_is_not_a_go_duration(string text) =>
        Assert.False(GoDuration.TryParse(text, out _));

    [Theory]
    [InlineData(null, "20", 20_000)]
    [InlineData("1500", "2", 1_500)]
    [InlineData(null, "Mon, 23 Nov 2026 12:00:05 GMT", 5_000)]
    [InlineData(null, "Mon, 23 Nov 2026 11:00:00 GMT", 0)]
    public void Should_parse_retry_after_preferring_milliseconds(string? milliseconds, string? retryAfter, double expectedMilliseconds)
    {
        var headers = new Dictionary<string, string?> { ["retry-after-ms"] = milliseconds, ["retry-after"] = retryAfter };
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), RateLimitHeaders.ParseRetryAfter(name => headers.GetValueOrDefault(name), Now));
    }

    [Theory]
    [InlineData("Infinity", null)]
    [InlineData("NaN", "Infinity")]
    [InlineData("-5", "-1")]
    public void Should_ignore_retry_after_values_no_wait_can_hold(string? milliseconds, string? retryAfter)
    {
        var headers = new Dictionary<string, string?> { ["retry-after-ms"] = milliseconds, ["retry-after"] = retryAfter };
        Assert.Null(RateLimitHeaders.ParseRetryAfter(name => headers.GetValueOrDefault(name), Now));
    }

    [Fact]
    public void Should_leave_absent_or_unreadable_headers_empty()
    {
        var headers = new Dictionary<string, string> { ["x-ratelimit-remaining-requests"] = "lots", ["retry-after"] = "soon" };
        Assert.True(RateLimitHeaders.ParseOpenAi(name => headers.GetValueOrDefault(name), Now).IsEmpty);
    }

    [Fact]
    public void Should_suggest_waiting_for_the_reset_of_an_exhausted_budget()
    {
        var tokensExhausted = new RateLimitSnapshot
        {
            ObservedAt = Now,
            RequestLimit = 100,
            RemainingRequests = 50,
            RequestsResetAt = Now.AddSeconds(1),
            TokenLimit = 1000,
            RemainingTokens = 0,
            TokensResetAt = Now.AddSeconds(7),
        };
        var plenty = tokensExhausted with { RemainingTokens = 10 };

        Assert.Equal(TimeSpan.FromSeconds(7), tokensExhausted.SuggestedDelay);
        Assert.Null(plenty.SuggestedDelay);
    }
}
