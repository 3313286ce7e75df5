using System.Diagnostics;
using System.Text.Json;
using Sagas.Core.Http;
using Sagas.Core.Telemetry;
using Sagas.Modules.Usage;

namespace Sagas.PromptAnalyses.Platforms.Http;

/// <summary>Turns a provider reply or failure into the normalised answer or error every platform returns.</summary>
internal static class PlatformCall
{
    public const int MaxMessageLength = 1000;

    public static Activity? StartActivity(string platform, string model)
    {
        var activity = SagasTelemetry.ActivitySource.StartActivity("prompt-analysis.platform.ask", ActivityKind.Client);
        activity?.SetTag("sagas.platform", platform);
        activity?.SetTag("sagas.model", model);
        return activity;
    }

    public static PlatformAnswer Answer(
        string platform,
        bool simulated,
        ProviderReply reply,
        TimeSpan elapsed,
        RateLimitSnapshot rateLimit,
        PriceTable prices,
        DateTimeOffset at,
        Activity? activity)
    {
        var quote = prices.Quote(
            simulated ? PlatformNames.Simulated : platform,
            reply.Model,
            reply.InputTokens,
            reply.OutputTokens,
            reply.WebSearchCalls,
            at,
            reply.ProviderTokenCost,
            cachedInputTokens: reply.CachedInputTokens);
        var warnings = reply.Warnings.ToList();
        if (quote.Warning is not null)
            warnings.Add(quote.Warning);

        var citations = CitationNormalizer.Normalize(reply.Citations);
        activity?.SetTag("sagas.tokens.input", reply.InputTokens);
        activity?.SetTag("sagas.tokens.output", reply.OutputTokens);
        activity?.SetTag("sagas.citations", citations.Count);

        return new PlatformAnswer
        {
            Platform = platform,
            IsSimulated = simulated,
            Model = reply.Model,
            Text = reply.Text,
            InputTokens = reply.InputTokens,
            OutputTokens = reply.OutputTokens,
            CachedInputTokens = reply.CachedInputTokens,
            TotalTokens = reply.TotalTokens ?? reply.InputTokens + reply.OutputTokens,
            Cost = quote.Cost,
            ExecutionTime = elapsed,
            Citations = citations,
            RateLimit = rateLimit,
            Metadata = new AnswerMetadata
            {
                ResponseId = reply.ResponseId,
                FinishReason = reply.FinishReason,
                WebSearchCalls = reply.WebSearchCalls,
                SearchQueries = reply.SearchQueries is { Count: > 0 } queries ? queries : null,
                ProviderReportedCost = reply.ProviderReportedCost,
                PriceApplied = quote.Price?.ToString(),
                Simulated = simulated,
                Warnings = warnings,
            },
        };
    }

    public static PlatformCallException Failure(
        string platform,
        string model,
        PlatformErrorKind kind,
        bool transient,
        string message,
        RateLimitSnapshot rateLimit,
        TimeSpan elapsed,
        Activity? activity,
        int? httpStatus = null,
        string? providerCode = null,
        TimeSpan? retryAfter = null,
        string? apiKey = null,
        Exception? inner = null)
    {
        var error = new PlatformError
        {
            Platform = platform,
            Model = model,
            Kind = kind,
            IsTransient = transient,
            HttpStatus = httpStatus,
            ProviderCode = providerCode,
            Message = Scrub(message, apiKey),
            RetryAfter = retryAfter ?? rateLimit.RetryAfter,
            RateLimit = rateLimit,
            ExecutionTime = elapsed,
        };
        activity?.SetStatus(ActivityStatusCode.Error, error.Kind.ToString());
        activity?.SetTag("sagas.error.transient", transient);
        return new PlatformCallException(error, inner);
    }

    /// <summary>
    /// Default classification by HTTP status; providers refine it from their error body (quota codes, Anthropic's
    /// overloaded_error). 400, 401, 403 and other 4xx are permanent; 408, 409, 429 and 5xx are transient.
    /// </summary>
    public static (PlatformErrorKind Kind, bool Transient) ClassifyStatus(int status) => status switch
    {
        400 or 413 or 422 => (PlatformErrorKind.InvalidRequest, false),
        401 => (PlatformErrorKind.Authentication, false),
        402 => (PlatformErrorKind.QuotaExceeded, false),
        403 => (PlatformErrorKind.PermissionDenied, false),
        404 => (PlatformErrorKind.NotFound, false),
        408 => (PlatformErrorKind.Timeout, true),
        409 or 425 => (PlatformErrorKind.ServerError, true),
        429 => (PlatformErrorKind.RateLimited, true),
        503 or 529 => (PlatformErrorKind.Overloaded, true),
        >= 500 => (PlatformErrorKind.ServerError, true),
        _ => (PlatformErrorKind.InvalidRequest, false),
    };

    /// <summary>Provider codes that mean money or a hard quota ran out: never retried.</summary>
    public static bool IsQuotaCode(string? code) =>
        code is not null &&
        (code.Contains("insufficient_quota", StringComparison.OrdinalIgnoreCase)
         || code.Contains("billing", StringComparison.OrdinalIgnoreCase)
         || code.Contains("credit", StringComparison.OrdinalIgnoreCase));

    public static string Truncate(string? text)
    {
        var value = text?.Trim() ?? "";
        return value.Length <= MaxMessageLength ? value : value[..MaxMessageLength] + "…";
    }

    /// <summary>Best-effort read of a JSON error body; null when the body is not JSON.</summary>
    public static JsonElement? TryParseJson(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
            return null;
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string? StringAt(this JsonElement element, params string[] path)
    {
        var current = element;
        foreach (var name in path)
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
                return null;
        }

        return current.ValueKind switch
        {
            JsonValueKind.String => current.GetString(),
            JsonValueKind.Number => current.GetRawText(),
            _ => null,
        };
    }

    private static string Scrub(string message, string? apiKey)
    {
        var text = Truncate(message);
        return string.IsNullOrEmpty(apiKey) || apiKey.Length < 4 ? text : text.Replace(apiKey, "***", StringComparison.Ordinal);
    }
}
