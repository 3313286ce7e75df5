using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;
using Sagas.Storage.Content;

namespace Sagas.ScanSessions.Fetching.GoogleDrive;

/// <summary>Section <c>ScanSessions:Drive</c>: how scan workers talk to Google Drive.</summary>
public sealed class GoogleDriveOptions : IValidatableObject
{
    public const string SectionName = "ScanSessions:Drive";

    [HttpUrl(ErrorMessage = "{0} is '{1}', which is not an absolute http(s) URL. The default is https://www.googleapis.com.")]
    public string BaseUrl { get; set; } = "https://www.googleapis.com";

    /// <summary>Largest file downloaded; a bigger one becomes a per-file TooLarge error (checked before and while streaming).</summary>
    [Range(1, (double)BoundedContent.MaxLimit)]
    public long MaxDownloadBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Export Google Docs, Sheets, Slides and Drawings as <see cref="ExportMimeType"/>; when false they are reported as unsupported.</summary>
    public bool ExportGoogleDocuments { get; set; } = true;

    [Required(ErrorMessage = "{0} is empty; the default is application/pdf.")]
    public string ExportMimeType { get; set; } = "application/pdf";

    /// <summary>Retries of one call after a transient failure (5xx, 408, 429, 403 rate limit, connection error, attempt timeout).</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>First retry delay; it doubles per attempt, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between attempts, including a server's Retry-After.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed for one attempt to return response headers.</summary>
    [AtLeast(typeof(TimeSpan), "00:00:00.010")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RetryBaseDelay < TimeSpan.Zero || MaxRetryDelay < RetryBaseDelay)
            yield return new ValidationResult($"{validationContext.Key(nameof(RetryBaseDelay))} must be at least zero and at most {nameof(MaxRetryDelay)}.");
    }
}
