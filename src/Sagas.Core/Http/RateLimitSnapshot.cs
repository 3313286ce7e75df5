namespace Sagas.Core.Http;

/// <summary>
/// What a provider's rate-limit headers said about the caller's budget at <see cref="ObservedAt"/>. Every value is
/// optional: providers send different subsets (Gemini sends none), and an absent or unreadable header never means
/// "no limit". LLM job polling slows down from it; the prompt-analysis limiter lowers its cluster-wide rate from it.
/// </summary>
public sealed record RateLimitSnapshot
{
    public required DateTimeOffset ObservedAt { get; init; }

    public long? RequestLimit { get; init; }

    public long? RemainingRequests { get; init; }

    public DateTimeOffset? RequestsResetAt { get; init; }

    public long? TokenLimit { get; init; }

    public long? RemainingTokens { get; init; }

    public DateTimeOffset? TokensResetAt { get; init; }

    /// <summary>Retry-After (or the provider's equivalent) on this response.</summary>
    public TimeSpan? RetryAfter { get; init; }

    public bool IsEmpty =>
        RequestLimit is null && RemainingRequests is null && RequestsResetAt is null &&
        TokenLimit is null && RemainingTokens is null && TokensResetAt is null && RetryAfter is null;

    /// <summary>
    /// The longest wait the headers asked for when they were read: Retry-After, or the time until a used-up budget
    /// resets. Null when nothing was exhausted.
    /// </summary>
    public TimeSpan? SuggestedDelay
    {
        get
        {
            var delay = RetryAfter;
            if (RemainingRequests == 0 && RequestsResetAt is { } requestsReset)
                delay = Longer(delay, requestsReset - ObservedAt);
            if (RemainingTokens == 0 && TokensResetAt is { } tokensReset)
                delay = Longer(delay, tokensReset - ObservedAt);
            return delay;
        }
    }

    public static RateLimitSnapshot None(DateTimeOffset observedAt) => new() { ObservedAt = observedAt };

    private static TimeSpan? Longer(TimeSpan? current, TimeSpan candidate)
    {
        var wait = candidate < TimeSpan.Zero ? TimeSpan.Zero : candidate;
        return current is null || wait > current ? wait : current;
    }
}
