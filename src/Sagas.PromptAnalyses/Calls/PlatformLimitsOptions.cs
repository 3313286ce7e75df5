using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.PromptAnalyses.Calls;

/// <summary>
/// Section <c>PromptAnalyses:Limits</c>: the cluster-wide budget of each platform and the retry policy. The budget is
/// shared by every process using the same PostgreSQL database (one process with SQLite).
/// </summary>
public sealed class PlatformLimitsOptions
{
    public const string SectionName = "PromptAnalyses:Limits";

    public PlatformLimit OpenAi { get; set; } = new() { RequestsPerMinute = 5_000 };

    public PlatformLimit Gemini { get; set; } = new() { RequestsPerMinute = 10 };

    public PlatformLimit Claude { get; set; } = new() { RequestsPerMinute = 50 };

    public PlatformLimit Perplexity { get; set; } = new() { RequestsPerMinute = 50 };

    /// <summary>Unlimited unless configured: it asks no provider.</summary>
    public PlatformLimit Simulated { get; set; } = new();

    /// <summary>
    /// Share by which requests are spaced further apart than the configured rate: a minute absorbs about
    /// SafetyMargin × 60 s (0.6 s by default) of lateness the limiter cannot see, between the permit and the request
    /// reaching the provider (the HTTP stack, a starved thread pool, the network). Lateness up to the permit is not its
    /// business: a permit granted more than <see cref="LateDepartureThresholdMs"/> after its slot moves every later
    /// slot on by as much. Before that existed the margin had to hold the worst permit lateness too, and 2 % once let a
    /// 429 through on a loaded machine where 3 % did not.
    /// </summary>
    [Range(0d, 1d)]
    public double SafetyMargin { get; set; } = 0.01;

    /// <summary>
    /// How late after its slot a waiting request may still leave; a later one gives its slot up and queues again, since
    /// a slot costs one spacing and moving every later slot on by a long oversleep costs more.
    /// </summary>
    [NotNegative]
    public int LateSlotGraceMs { get; set; } = 250;

    public TimeSpan LateSlotGrace => TimeSpan.FromMilliseconds(LateSlotGraceMs);

    /// <summary>
    /// A permit granted later than this after its slot moves the platform's later slots on by its lateness (one more
    /// statement against the store); lateness up to this is left to <see cref="SafetyMargin"/>, so keep it well under
    /// SafetyMargin × 60 s. Timers alone make nearly every permit a few milliseconds late.
    /// </summary>
    [NotNegative]
    public int LateDepartureThresholdMs { get; set; } = 20;

    public TimeSpan LateDepartureThreshold => TimeSpan.FromMilliseconds(LateDepartureThresholdMs);

    /// <summary>Output tokens reserved up front for a call against a tokens-per-minute budget (corrected once the answer reports its usage).</summary>
    [NotNegative]
    public int EstimatedOutputTokens { get; set; } = 1_000;

    public PlatformRetryOptions Retry { get; set; } = new();

    public PlatformLimit For(string platform) => PlatformNames.Normalize(platform) switch
    {
        PlatformNames.OpenAi => OpenAi,
        PlatformNames.Gemini => Gemini,
        PlatformNames.Claude => Claude,
        PlatformNames.Perplexity => Perplexity,
        _ => Simulated,
    };

    /// <summary>The spacing between two permits of <paramref name="platform"/> (zero when unlimited).</summary>
    public PlatformRate RateFor(string platform)
    {
        var limit = For(platform);
        var stretch = 1 + SafetyMargin;
        return new PlatformRate(
            limit.RequestsPerMinute is > 0 and var rpm ? TimeSpan.FromMinutes(stretch / rpm) : TimeSpan.Zero,
            limit.TokensPerMinute is > 0 and var tpm ? TimeSpan.FromMinutes(stretch / tpm) : TimeSpan.Zero);
    }
}

/// <summary>One platform's budget. Zero or absent means no limit of that kind.</summary>
public sealed class PlatformLimit
{
    private const string LimitRule = "{0} is {1}; it must be positive, or 0 for no limit.";

    [NotNegative(ErrorMessage = LimitRule)]
    public int? RequestsPerMinute { get; set; }

    [NotNegative(ErrorMessage = LimitRule)]
    public long? TokensPerMinute { get; set; }

    public bool IsUnlimited => RequestsPerMinute is null or 0 && TokensPerMinute is null or 0;
}

/// <summary>Retries of one platform call: exponential backoff with jitter, Retry-After honoured.</summary>
public sealed class PlatformRetryOptions
{
    [NotNegative]
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first backoff; each further retry doubles it.</summary>
    [NotNegative]
    public int BaseDelayMs { get; set; } = 1_000;

    [NotNegative]
    public int MaxDelaySeconds { get; set; } = 60;

    /// <summary>A Retry-After longer than this (a daily quota, say) ends the call instead of holding it for hours.</summary>
    [NotNegative]
    public int MaxRetryAfterSeconds { get; set; } = 300;

    /// <summary>Each backoff is multiplied by a random factor in [1 - Jitter, 1 + Jitter].</summary>
    [Range(0d, 1d, MaximumIsExclusive = true)]
    public double Jitter { get; set; } = 0.2;

    public TimeSpan BaseDelay => TimeSpan.FromMilliseconds(BaseDelayMs);

    public TimeSpan MaxDelay => TimeSpan.FromSeconds(MaxDelaySeconds);

    public TimeSpan MaxRetryAfter => TimeSpan.FromSeconds(MaxRetryAfterSeconds);
}

/// <summary>
/// A budget as spacing: <see cref="RequestInterval"/> between two requests and <see cref="TokenInterval"/> per token.
/// Evenly spaced requests keep every window of any length within the per-minute rate, which a provider's token bucket
/// always accepts.
/// </summary>
public readonly record struct PlatformRate(TimeSpan RequestInterval, TimeSpan TokenInterval)
{
    public bool IsUnlimited => RequestInterval <= TimeSpan.Zero && TokenInterval <= TimeSpan.Zero;
}
