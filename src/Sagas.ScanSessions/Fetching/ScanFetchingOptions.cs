using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;
using Sagas.Storage.Content;

namespace Sagas.ScanSessions.Fetching;

/// <summary>Section <c>ScanSessions:Fetching</c>: limits for reading one scanned file, whatever its source.</summary>
public sealed class ScanFetchingOptions : IValidatableObject
{
    public const string SectionName = "ScanSessions:Fetching";

    /// <summary>Largest file read from an upload, a URL or S3 (Drive has its own <c>ScanSessions:Drive:MaxDownloadBytes</c>).</summary>
    [Range(1, (double)BoundedContent.MaxLimit)]
    public long MaxFileBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Time allowed for fetching one file, retries included.</summary>
    [Positive]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    [Range(0, 20)]
    public int MaxRedirects { get; set; } = 5;

    /// <summary>Retries of a URL after a transient failure (5xx, 408, 429, connection error).</summary>
    [Range(0, 10)]
    public int UrlMaxRetries { get; set; } = 2;

    /// <summary>First URL retry delay; it doubles per attempt, with jitter.</summary>
    [NotNegative]
    public TimeSpan UrlRetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Let URLs reach loopback, private, link-local and other internal addresses. Off by default: a manifest is user
    /// input, and a URL such as http://169.254.169.254/ must not make the worker read the cloud metadata service.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>
    /// Fetch URLs through the proxy of the environment (<c>HTTPS_PROXY</c>, <c>HTTP_PROXY</c>, <c>NO_PROXY</c>). Off by
    /// default, and then scan fetches connect directly whatever the environment says. Only allowed together with
    /// <see cref="AllowPrivateNetworks"/>: through a proxy the worker never sees the address the proxy connects to, so
    /// the private-address guard cannot run and the proxy itself must refuse internal destinations.
    /// </summary>
    public bool UseEnvironmentProxy { get; set; }

    /// <summary>Buckets scans may read; empty allows every bucket the S3 credentials reach.</summary>
    public List<string> AllowedS3Buckets { get; set; } = [];

    /// <summary>Most objects one S3 prefix may expand to.</summary>
    [Positive]
    public int MaxS3Objects { get; set; } = 100_000;

    public bool IsBucketAllowed(string bucket) =>
        AllowedS3Buckets.Count == 0 || AllowedS3Buckets.Contains(bucket, StringComparer.Ordinal);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (UseEnvironmentProxy && !AllowPrivateNetworks)
        {
            yield return new ValidationResult(
                $"{validationContext.Key(nameof(UseEnvironmentProxy))} is true but {validationContext.Key(nameof(AllowPrivateNetworks))} is false. " +
                "Through a proxy the private-address guard cannot see where a URL leads: leave the proxy off, or set both " +
                "when the proxy itself refuses internal destinations.");
        }
    }
}
