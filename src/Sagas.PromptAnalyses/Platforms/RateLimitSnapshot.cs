namespace Sagas.PromptAnalyses.Platforms;

/// <summary>
/// What a provider's rate-limit headers said about the caller's budget at <see cref="ObservedAt"/>. Every value is
/// optional: providers send different subsets (Gemini sends none). A cluster-wide limiter lowers its rate from this.
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

    public static RateLimitSnapshot None(DateTimeOffset observedAt) => new() { ObservedAt = observedAt };
}
