using Sagas.Core.Http;

namespace Sagas.LlmJobs.Providers;

public enum LlmErrorKind
{
    /// <summary>Trying again later may work: rate limits, timeouts, connection failures, 408/409/5xx, an expired batch line.</summary>
    Transient,

    /// <summary>Trying again cannot work: 400, 401, 403, 404, <c>insufficient_quota</c>, an answer that is not a decision.</summary>
    Permanent,
}

/// <summary>A provider failure as the workflow stores and shows it.</summary>
/// <param name="Code">The provider's error code when it gave one (<c>rate_limit_exceeded</c>, <c>insufficient_quota</c>,
/// <c>batch_expired</c>), otherwise one of <see cref="LlmErrorCodes"/>.</param>
/// <param name="StatusCode">HTTP status of the failing call or batch line, if any.</param>
/// <param name="RetryAfter">How long the provider asked us to wait, if it said.</param>
public sealed record LlmProviderError(LlmErrorKind Kind, string Code, string Message, int? StatusCode = null, TimeSpan? RetryAfter = null)
{
    public bool IsTransient => Kind == LlmErrorKind.Transient;

    public override string ToString() =>
        StatusCode is { } status ? $"{Kind} {status} {Code}: {Message}" : $"{Kind} {Code}: {Message}";
}

/// <summary>Codes this project assigns when the provider gave none.</summary>
public static class LlmErrorCodes
{
    public const string Timeout = "timeout";
    public const string ConnectionFailed = "connection_failed";
    public const string UnreadableResponse = "unreadable_response";
    public const string InvalidOutput = "invalid_output";
    public const string Refusal = "refusal";
    public const string Incomplete = "incomplete";
    public const string MalformedBatchLine = "malformed_batch_line";
    public const string HttpError = "http_error";
    public const string NotFound = "not_found";
    public const string SimulatedFailure = "simulated_failure";
    public const string RateLimitExceeded = "rate_limit_exceeded";
    public const string InsufficientQuota = "insufficient_quota";
    public const string BatchExpired = "batch_expired";
    public const string BatchCancelled = "batch_cancelled";

    /// <summary>The provider's circuit breaker is open: nothing was sent (transient, with a RetryAfter).</summary>
    public const string CircuitOpen = "circuit_open";
}

/// <summary>A provider call failed; <see cref="Error"/> says whether retrying can help.</summary>
public sealed class LlmProviderException : Exception
{
    public LlmProviderException(string provider, string operation, LlmProviderError error, RateLimitSnapshot rateLimit, Exception? innerException = null)
        : base($"{provider} {operation} failed: {error}", innerException)
    {
        Provider = provider;
        Operation = operation;
        Error = error;
        RateLimit = rateLimit;
    }

    public string Provider { get; }

    public string Operation { get; }

    public LlmProviderError Error { get; }

    public RateLimitSnapshot RateLimit { get; }

    public bool IsTransient => Error.IsTransient;

    /// <summary>
    /// No answer came (a timeout, a dropped connection, a body that could not be read): the provider may or may not have
    /// done what was asked. A create that failed this way may have made something that is billed.
    /// </summary>
    public bool OutcomeUnknown => Error.StatusCode is null && Error.Code is LlmErrorCodes.Timeout or LlmErrorCodes.ConnectionFailed or LlmErrorCodes.UnreadableResponse;
}

/// <summary>The one place that decides what is worth retrying.</summary>
public static class LlmErrorClassifier
{
    /// <summary>429 codes that mean "no money" or "no access", not "too fast": waiting does not help.</summary>
    private static readonly HashSet<string> PermanentRateLimitCodes = new(StringComparer.OrdinalIgnoreCase)
    {
        LlmErrorCodes.InsufficientQuota,
        "billing_hard_limit_reached",
        "billing_not_active",
        "access_terminated",
    };

    /// <summary>Per-item codes (failed responses, batch lines) that a resubmission can cure.</summary>
    private static readonly HashSet<string> TransientItemCodes = new(StringComparer.OrdinalIgnoreCase)
    {
        "server_error",
        LlmErrorCodes.RateLimitExceeded,
        LlmErrorCodes.BatchExpired,
        LlmErrorCodes.Timeout,
        LlmErrorCodes.ConnectionFailed,
    };

    /// <summary>Classifies a failed HTTP call (status 0 = no response at all).</summary>
    public static LlmErrorKind ForHttpStatus(int status, string? code)
    {
        if (status == 429)
            return code is not null && PermanentRateLimitCodes.Contains(code) ? LlmErrorKind.Permanent : LlmErrorKind.Transient;

        // 409 is how OpenAI reports a lock conflict on a resource being updated; it clears by itself.
        return status is 0 or 408 or 409 or >= 500 ? LlmErrorKind.Transient : LlmErrorKind.Permanent;
    }

    /// <summary>Classifies an error the provider reported for one item (no HTTP failure of our call).</summary>
    public static LlmErrorKind ForItemCode(string? code) =>
        code is not null && TransientItemCodes.Contains(code) ? LlmErrorKind.Transient : LlmErrorKind.Permanent;
}
