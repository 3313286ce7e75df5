using System.Globalization;

namespace Sagas.Core.Http;

/// <summary>Reads each provider's rate-limit headers into a <see cref="RateLimitSnapshot"/>. Unparseable values are skipped, never thrown.</summary>
public static partial class RateLimitHeaders
{
    /// <summary>
    /// OpenAI (and OpenAI-style) headers: <c>x-ratelimit-{limit,remaining,reset}-{requests,tokens}</c>, where reset is a
    /// Go duration such as <c>6m0s</c> or <c>12ms</c> counted from now.
    /// </summary>
    public static RateLimitSnapshot ParseOpenAi(Func<string, string?> header, DateTimeOffset now) => new()
    {
        ObservedAt = now,
        RequestLimit = ParseLong(header("x-ratelimit-limit-requests")),
        RemainingRequests = ParseLong(header("x-ratelimit-remaining-requests")),
        RequestsResetAt = ParseGoDuration(header("x-ratelimit-reset-requests")) is { } requestsReset ? now + requestsReset : null,
        TokenLimit = ParseLong(header("x-ratelimit-limit-tokens")),
        RemainingTokens = ParseLong(header("x-ratelimit-remaining-tokens")),
        TokensResetAt = ParseGoDuration(header("x-ratelimit-reset-tokens")) is { } tokensReset ? now + tokensReset : null,
        RetryAfter = ParseRetryAfter(header, now),
    };

    /// <summary>
    /// Anthropic: <c>anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}</c> with RFC 3339 reset times. When
    /// the combined token headers are absent the input-token ones stand in (they are the tighter budget for prompts).
    /// </summary>
    public static RateLimitSnapshot ParseAnthropic(Func<string, string?> header, DateTimeOffset now) => new()
    {
        ObservedAt = now,
        RequestLimit = ParseLong(header("anthropic-ratelimit-requests-limit")),
        RemainingRequests = ParseLong(header("anthropic-ratelimit-requests-remaining")),
        RequestsResetAt = ParseTimestamp(header("anthropic-ratelimit-requests-reset")),
        TokenLimit = ParseLong(header("anthropic-ratelimit-tokens-limit") ?? header("anthropic-ratelimit-input-tokens-limit")),
        RemainingTokens = ParseLong(header("anthropic-ratelimit-tokens-remaining") ?? header("anthropic-ratelimit-input-tokens-remaining")),
        TokensResetAt = ParseTimestamp(header("anthropic-ratelimit-tokens-reset") ?? header("anthropic-ratelimit-input-tokens-reset")),
        RetryAfter = ParseRetryAfter(header, now),
    };

    /// <summary>Gemini sends no rate-limit headers; only a Retry-After a proxy may add is kept.</summary>
    public static RateLimitSnapshot ParseGemini(Func<string, string?> header, DateTimeOffset now) => new()
    {
        ObservedAt = now,
        RetryAfter = ParseRetryAfter(header, now),
    };

    /// <summary><c>retry-after-ms</c> (milliseconds) wins over <c>retry-after</c> (seconds or an HTTP date).</summary>
    public static TimeSpan? ParseRetryAfter(Func<string, string?> header, DateTimeOffset now)
    {
        // "Infinity" and "NaN" parse as doubles; TimeSpan cannot hold them.
        if (double.TryParse(header("retry-after-ms"), NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds) && double.IsFinite(milliseconds) && milliseconds >= 0)
            return TimeSpan.FromMilliseconds(milliseconds);

        var value = header("retry-after")?.Trim();
        if (string.IsNullOrEmpty(value))
            return null;
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            return double.IsFinite(seconds) && seconds >= 0 ? TimeSpan.FromSeconds(seconds) : null;
        if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
            return date > now ? date - now : TimeSpan.Zero;
        return null;
    }

    /// <summary>
    /// Parses a Go <c>time.Duration</c> string (<c>1h2m3.5s</c>, <c>6m0s</c>, <c>12ms</c>, <c>850us</c>, <c>0</c>).
    /// Returns null for anything else.
    /// </summary>
    public static TimeSpan? ParseGoDuration(string? value) => GoDuration.TryParse(value, out var duration) ? duration : null;

    /// <summary>Parses a protobuf JSON duration such as Gemini's <c>retryDelay</c> (<c>38s</c>, <c>0.5s</c>).</summary>
    public static TimeSpan? ParseProtobufDuration(string? value)
    {
        var text = value?.Trim();
        if (text is null || !text.EndsWith('s'))
            return null;
        return decimal.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromTicks((long)(seconds * TimeSpan.TicksPerSecond))
            : null;
    }

    private static long? ParseLong(string? value) =>
        long.TryParse(value?.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? number : null;

    private static DateTimeOffset? ParseTimestamp(string? value) =>
        DateTimeOffset.TryParse(value?.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var timestamp)
            ? timestamp
            : null;
}
