using Sagas.Core.Configuration;
using Sagas.Storage.Content;

namespace Sagas.ScanSessions.Fetching.GoogleDrive;

/// <summary>Section <c>ScanSessions:Drive</c>: how scan workers talk to Google Drive.</summary>
public sealed class GoogleDriveOptions
{
    public const string SectionName = "ScanSessions:Drive";

    public string BaseUrl { get; set; } = "https://www.googleapis.com";

    /// <summary>Largest file downloaded; a bigger one becomes a per-file TooLarge error (checked before and while streaming).</summary>
    public long MaxDownloadBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Export Google Docs, Sheets, Slides and Drawings as <see cref="ExportMimeType"/>; when false they are reported as unsupported.</summary>
    public bool ExportGoogleDocuments { get; set; } = true;

    public string ExportMimeType { get; set; } = "application/pdf";

    /// <summary>Retries of one call after a transient failure (5xx, 408, 429, 403 rate limit, connection error, attempt timeout).</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>First retry delay; it doubles per attempt, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between attempts, including a server's Retry-After.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed for one attempt to return response headers.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public void Validate()
    {
        if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            throw new SagasConfigurationException($"{SectionName}:{nameof(BaseUrl)} is '{BaseUrl}', which is not an absolute http(s) URL. The default is https://www.googleapis.com.");
        if (MaxDownloadBytes <= 0 || MaxDownloadBytes > BoundedContent.MaxLimit)
            throw new SagasConfigurationException($"{SectionName}:{nameof(MaxDownloadBytes)} is {MaxDownloadBytes}; use a positive number of bytes up to {BoundedContent.MaxLimit}.");
        if (string.IsNullOrWhiteSpace(ExportMimeType))
            throw new SagasConfigurationException($"{SectionName}:{nameof(ExportMimeType)} is empty; the default is application/pdf.");
        if (MaxRetries is < 0 or > 10)
            throw new SagasConfigurationException($"{SectionName}:{nameof(MaxRetries)} is {MaxRetries}; use 0 to 10.");
        if (RetryBaseDelay < TimeSpan.Zero || MaxRetryDelay < RetryBaseDelay)
            throw new SagasConfigurationException($"{SectionName}:{nameof(RetryBaseDelay)} must be at least zero and at most {nameof(MaxRetryDelay)}.");
        if (AttemptTimeout < TimeSpan.FromMilliseconds(10))
            throw new SagasConfigurationException($"{SectionName}:{nameof(AttemptTimeout)} is {AttemptTimeout}; use at least a second, e.g. 00:00:30.");
    }
}
