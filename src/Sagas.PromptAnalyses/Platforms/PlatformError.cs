using System.Globalization;
using Sagas.Core.Http;

namespace Sagas.PromptAnalyses.Platforms;

public enum PlatformErrorKind
{
    /// <summary>429 rate limit (requests or tokens per minute): retry after the hint.</summary>
    RateLimited,

    /// <summary>Out of credit, billing problem or a daily quota: retrying cannot help today.</summary>
    QuotaExceeded,

    Authentication,
    PermissionDenied,
    InvalidRequest,
    NotFound,
    ServerError,

    /// <summary>Provider overloaded (Anthropic 529, 503).</summary>
    Overloaded,

    Timeout,

    /// <summary>No HTTP answer at all: connection refused, reset, DNS.</summary>
    Network,

    /// <summary>The provider answered something this client cannot read (malformed JSON, missing fields).</summary>
    InvalidResponse,

    /// <summary>The provider accepted the request but reports the run as failed (Perplexity status failed, OpenAI status failed).</summary>
    RunFailed,

    /// <summary>The provider refused to answer the content (Gemini prompt blocked).</summary>
    ContentBlocked,

    /// <summary>Nothing was sent: the platform's circuit breaker is open. The ask is deferred, never recorded as failed.</summary>
    BreakerOpen,
}

/// <summary>Why a platform call failed, in a form a retry policy and a rate limiter can act on.</summary>
public sealed record PlatformError
{
    public required string Platform { get; init; }

    public string? Model { get; init; }

    public required PlatformErrorKind Kind { get; init; }

    /// <summary>True when the same request may succeed later (408, 429 rate limits, 5xx, 529, timeouts, network).</summary>
    public required bool IsTransient { get; init; }

    public int? HttpStatus { get; init; }

    /// <summary>The provider's error code or type (rate_limit_exceeded, overloaded_error, RESOURCE_EXHAUSTED, ...).</summary>
    public string? ProviderCode { get; init; }

    /// <summary>The provider's message (API keys scrubbed).</summary>
    public required string Message { get; init; }

    /// <summary>How long the provider asked us to wait (Retry-After, retry-after-ms, Gemini retryDelay).</summary>
    public TimeSpan? RetryAfter { get; init; }

    public required RateLimitSnapshot RateLimit { get; init; }

    public TimeSpan ExecutionTime { get; init; }

    public override string ToString()
    {
        var status = HttpStatus is { } code ? string.Create(CultureInfo.InvariantCulture, $" HTTP {code}") : "";
        var retry = RetryAfter is { } wait ? string.Create(CultureInfo.InvariantCulture, $", retry after {wait.TotalSeconds:0.###}s") : "";
        var code2 = ProviderCode is null ? "" : $" [{ProviderCode}]";
        return $"{Platform} {Kind}{status}{code2} ({(IsTransient ? "transient" : "permanent")}{retry}): {Message}";
    }
}

/// <summary>Thrown by <see cref="IAnalysisPlatform.AskAsync"/> for every provider-side failure.</summary>
public sealed class PlatformCallException : Exception
{
    public PlatformCallException(PlatformError error, Exception? innerException = null)
        : base(error.ToString(), innerException)
    {
        Error = error;
    }

    public PlatformError Error { get; }

    public bool IsTransient => Error.IsTransient;
}
