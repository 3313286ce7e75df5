using Sagas.Core.Http;
using System.Globalization;

namespace Sagas.LlmJobs.Providers;

/// <summary>
/// The rate-limit state a provider reported with one answer, so the poller can slow down before it is throttled.
/// Every value is null when the header was absent or unreadable: absence never means "no limit".
/// </summary>
public sealed record RateLimitSnapshot(
    long? RequestLimit,
    long? RemainingRequests,
    TimeSpan? RequestsReset,
    long? TokenLimit,
    long? RemainingTokens,
    TimeSpan? TokensReset,
    TimeSpan? RetryAfter)
{
    public static RateLimitSnapshot None { get; } = new(null, null, null, null, null, null, null);

    public bool IsEmpty => this == None;

    /// <summary>
    /// The longest wait the headers ask for: Retry-After, or the reset time of a budget that is used up. Null when
    /// nothing is exhausted.
    /// </summary>
    public TimeSpan? SuggestedDelay
    {
        get
        {
            TimeSpan? delay = RetryAfter;
            if (RemainingRequests == 0 && RequestsReset is { } requestsReset && (delay is null || requestsReset > delay))
                delay = requestsReset;
            if (RemainingTokens == 0 && TokensReset is { } tokensReset && (delay is null || tokensReset > delay))
                delay = tokensReset;
            return delay;
        }
    }

    /// <summary>
    /// Reads OpenAI's headers: <c>x-ratelimit-{limit,remaining,reset}-{requests,tokens}</c> (resets are Go durations
    /// such as <c>6m0s</c>), <c>retry-after-ms</c> and <c>retry-after</c> (seconds or an HTTP date).
    /// </summary>
    public static RateLimitSnapshot FromHeaders(Func<string, string?> header, DateTimeOffset now)
    {
        var snapshot = new RateLimitSnapshot(
            ParseLong(header("x-ratelimit-limit-requests")),
            ParseLong(header("x-ratelimit-remaining-requests")),
            GoDuration.TryParse(header("x-ratelimit-reset-requests"), out var requestsReset) ? requestsReset : null,
            ParseLong(header("x-ratelimit-limit-tokens")),
            ParseLong(header("x-ratelimit-remaining-tokens")),
            GoDuration.TryParse(header("x-ratelimit-reset-tokens"), out var tokensReset) ? tokensReset : null,
            ParseRetryAfter(header("retry-after-ms"), header("retry-after"), now));
        return snapshot.Equals(None) ? None : snapshot;
    }

    /// <summary>Milliseconds header first (more precise), then Retry-After as delta-seconds or HTTP date.</summary>
    public static TimeSpan? ParseRetryAfter(string? retryAfterMilliseconds, string? retryAfter, DateTimeOffset now)
    {
        if (double.TryParse(retryAfterMilliseconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds)
            && double.IsFinite(milliseconds) && milliseconds >= 0)
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }

        if (string.IsNullOrWhiteSpace(retryAfter))
            return null;

        if (double.TryParse(retryAfter, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            return double.IsFinite(seconds) && seconds >= 0 ? TimeSpan.FromSeconds(seconds) : null;

        if (DateTimeOffset.TryParseExact(retryAfter.Trim(), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
            return date > now ? date - now : TimeSpan.Zero;

        return null;
    }

    private static long? ParseLong(string? value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
}
