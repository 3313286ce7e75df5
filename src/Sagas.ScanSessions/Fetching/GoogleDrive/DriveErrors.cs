using System.Net;
using System.Text.Json;
using Sagas.Storage.Content;

namespace Sagas.ScanSessions.Fetching.GoogleDrive;

/// <summary>
/// Turns Drive error responses (<c>{"error": {"code", "message", "errors": [{"reason", ...}]}}</c>) into per-file
/// failures a person can act on. Drive signals rate limits as 403 with a reason, not only as 429.
/// </summary>
public static class DriveErrors
{
    private static readonly HashSet<string> RetryableRateLimitReasons = new(StringComparer.Ordinal) { "userRateLimitExceeded", "rateLimitExceeded" };
    private static readonly HashSet<string> QuotaReasons = new(StringComparer.Ordinal) { "dailyLimitExceeded", "quotaExceeded", "downloadQuotaExceeded", "sharingRateLimitExceeded" };

    public static FetchFailure Map(string fileId, HttpStatusCode status, string? body)
    {
        var (reason, message) = Parse(body);
        var detail = string.IsNullOrEmpty(message) ? "" : $" (Drive: {message})";
        return (int)status switch
        {
            401 => new FetchFailure(FetchFailureKind.Unauthorized, $"Google Drive rejected the access token: it is expired or invalid. Sign in again{detail}."),
            403 when reason is not null && RetryableRateLimitReasons.Contains(reason) =>
                new FetchFailure(FetchFailureKind.RateLimited, $"Google Drive rate limit reached ({reason}) while reading file {fileId}.", Retryable: true),
            403 when reason is not null && QuotaReasons.Contains(reason) =>
                new FetchFailure(FetchFailureKind.RateLimited, $"Google Drive quota exhausted ({reason}) for file {fileId}{detail}."),
            403 when reason == "fileNotDownloadable" =>
                new FetchFailure(FetchFailureKind.Unsupported, $"Drive file {fileId} is a Google Docs Editors file with no downloadable content{detail}."),
            403 when reason == "exportSizeLimitExceeded" =>
                new FetchFailure(FetchFailureKind.TooLarge, $"Drive file {fileId} is too large for Google to export{detail}."),
            403 => new FetchFailure(FetchFailureKind.Forbidden, $"No access to Drive file {fileId}: it is not shared with this account or downloads are restricted{detail}."),
            404 => new FetchFailure(FetchFailureKind.NotFound, $"Drive file {fileId} was not found, or is not shared with this account."),
            429 => new FetchFailure(FetchFailureKind.RateLimited, $"Google Drive rate limit reached while reading file {fileId}.", Retryable: true),
            408 or 504 => new FetchFailure(FetchFailureKind.Timeout, $"Google Drive timed out reading file {fileId}.", Retryable: true),
            >= 500 => new FetchFailure(FetchFailureKind.Unavailable, $"Google Drive failed with HTTP {(int)status} reading file {fileId}{detail}.", Retryable: true),
            _ => new FetchFailure(FetchFailureKind.Failed, $"Google Drive answered HTTP {(int)status} for file {fileId}{detail}."),
        };
    }

    /// <summary>Whether a 403 body is a short-term rate limit that a retry after a delay can get past.</summary>
    public static bool IsRetryableRateLimit(string? body) => Parse(body).Reason is { } reason && RetryableRateLimitReasons.Contains(reason);

    private static (string? Reason, string? Message) Parse(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
            return (null, null);
        try
        {
            using var document = JsonDocument.Parse(body);
            if (!document.RootElement.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
                return (null, null);
            string? reason = null;
            if (error.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in errors.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("reason", out var value) && value.ValueKind == JsonValueKind.String)
                    {
                        reason = value.GetString();
                        break;
                    }
                }
            }

            var message = error.TryGetProperty("message", out var text) && text.ValueKind == JsonValueKind.String ? text.GetString() : null;
            return (reason, Shorten(message));
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    private static string? Shorten(string? message) =>
        message is null ? null : message.Length <= 300 ? message : message[..300] + "…";
}
