using Sagas.Core.Http;

namespace Sagas.Components.Tests.Http;

public class When_reading_rate_limit_headers
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("6m0s", 360_000)]
    [InlineData("12ms", 12)]
    [InlineData("1.4s", 1_400)]
    [InlineData("1h2m3.5s", 3_723_500)]
    [InlineData("850us", 0.85)]
    [InlineData("0s", 0)]
    [InlineData("0", 0)]
    public void Should_parse_go_durations(string value, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), RateLimitHeaders.ParseGoDuration(value));

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("5")]
    [InlineData("-1s")]
    [InlineData("1d")]
    public void Should_ignore_values_that_are_not_go_durations(string value) =>
        Assert.Null(RateLimitHeaders.ParseGoDuration(value));

    [Theory]
    [InlineData("38s", 38_000)]
    [InlineData("0.5s", 500)]
    [InlineData("1.250s", 1_250)]
    public void Should_parse_protobuf_durations(string value, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), RateLimitHeaders.ParseProtobufDuration(value));

    [Fact]
    public void Should_read_openai_headers_relative_to_now()
    {
        var headers = Headers(new()
        {
            ["x-ratelimit-limit-requests"] = "5000",
            ["x-ratelimit-remaining-requests"] = "12",
            ["x-ratelimit-reset-requests"] = "1m30s",
            ["x-ratelimit-limit-tokens"] = "2000000",
            ["x-ratelimit-remaining-tokens"] = "1500",
            ["x-ratelimit-reset-tokens"] = "250ms",
        });

        var snapshot = RateLimitHeaders.ParseOpenAi(headers, Now);

        Assert.Equal(5000, snapshot.RequestLimit);
        Assert.Equal(12, snapshot.RemainingRequests);
        Assert.Equal(Now.AddSeconds(90), snapshot.RequestsResetAt);
        Assert.Equal(2_000_000, snapshot.TokenLimit);
        Assert.Equal(1500, snapshot.RemainingTokens);
        Assert.Equal(Now.AddMilliseconds(250), snapshot.TokensResetAt);
        Assert.False(snapshot.IsEmpty);
    }

    [Fact]
    public void Should_read_anthropic_rfc3339_resets_and_fall_back_to_input_token_headers()
    {
        var headers = Headers(new()
        {
            ["anthropic-ratelimit-requests-remaining"] = "3",
            ["anthropic-ratelimit-requests-reset"] = "2026-11-23T10:00:42+00:00",
            ["anthropic-ratelimit-input-tokens-remaining"] = "9000",
            ["anthropic-ratelimit-input-tokens-reset"] = "2026-11-23T10:00:05Z",
        });

        var snapshot = RateLimitHeaders.ParseAnthropic(headers, Now);

        Assert.Equal(3, snapshot.RemainingRequests);
        Assert.Equal(Now.AddSeconds(42), snapshot.RequestsResetAt);
        Assert.Equal(9000, snapshot.RemainingTokens);
        Assert.Equal(Now.AddSeconds(5), snapshot.TokensResetAt);
    }

    [Fact]
    public void Should_prefer_retry_after_ms_and_accept_http_dates()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(1500), RateLimitHeaders.ParseRetryAfter(Headers(new() { ["retry-after-ms"] = "1500", ["retry-after"] = "2" }), Now));
        Assert.Equal(TimeSpan.FromSeconds(20), RateLimitHeaders.ParseRetryAfter(Headers(new() { ["retry-after"] = "Mon, 23 Nov 2026 10:00:20 GMT" }), Now));
        Assert.Null(RateLimitHeaders.ParseRetryAfter(Headers(new() { ["retry-after"] = "later" }), Now));
    }

    [Fact]
    public void Should_report_nothing_for_gemini_without_headers()
    {
        var snapshot = RateLimitHeaders.ParseGemini(Headers(new() { ["x-ratelimit-remaining-requests"] = "1" }), Now);

        Assert.True(snapshot.IsEmpty);
        Assert.Equal(Now, snapshot.ObservedAt);
    }

    [Fact]
    public void Should_skip_garbage_values_instead_of_failing()
    {
        var snapshot = RateLimitHeaders.ParseOpenAi(Headers(new()
        {
            ["x-ratelimit-remaining-requests"] = "many",
            ["x-ratelimit-reset-tokens"] = "tomorrow",
        }), Now);

        Assert.True(snapshot.IsEmpty);
    }

    private static Func<string, string?> Headers(Dictionary<string, string> values)
    {
        var headers = new Dictionary<string, string>(values, StringComparer.OrdinalIgnoreCase);
        return name => headers.TryGetValue(name, out var value) ? value : null;
    }
}
