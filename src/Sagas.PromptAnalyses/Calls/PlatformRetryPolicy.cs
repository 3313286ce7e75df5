using Sagas.PromptAnalyses.Platforms;

namespace Sagas.PromptAnalyses.Calls;

/// <summary>Which failures are retried and how long to wait before the next attempt.</summary>
public sealed class PlatformRetryPolicy(PlatformRetryOptions options, Func<double> random)
{
    public PlatformRetryPolicy(PlatformRetryOptions options)
        : this(options, Random.Shared.NextDouble)
    {
    }

    public int MaxRetries => options.MaxRetries;

    /// <summary>
    /// Transient failures only: rate limits, 5xx, overload, timeouts and network errors. Bad requests, authentication,
    /// permission, quota and unreadable answers fail the same way again (and an unreadable answer may have been
    /// billed). A Retry-After beyond <see cref="PlatformRetryOptions.MaxRetryAfter"/> is a quota in all but name.
    /// </summary>
    public bool ShouldRetry(PlatformError error) =>
        error.IsTransient &&
        error.Kind is not (PlatformErrorKind.QuotaExceeded or PlatformErrorKind.InvalidRequest or PlatformErrorKind.Authentication
            or PlatformErrorKind.PermissionDenied or PlatformErrorKind.InvalidResponse or PlatformErrorKind.NotFound
            or PlatformErrorKind.ContentBlocked) &&
        (error.RetryAfter is not { } wait || wait <= options.MaxRetryAfter);

    /// <summary>
    /// Backoff before retry <paramref name="retry"/> (0 for the first): base × 2^retry, scaled by a random factor in
    /// [1 - jitter, 1 + jitter], capped at the maximum; never shorter than the provider's Retry-After.
    /// </summary>
    public TimeSpan DelayBefore(int retry, TimeSpan? retryAfter)
    {
        var exponential = options.BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(retry, 30));
        var factor = 1 - options.Jitter + (2 * options.Jitter * random());
        var backoff = TimeSpan.FromMilliseconds(Math.Min(exponential * factor, options.MaxDelay.TotalMilliseconds));
        return retryAfter is { } wait && wait > backoff ? wait : backoff;
    }
}
