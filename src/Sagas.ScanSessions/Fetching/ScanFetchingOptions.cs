using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;
using Sagas.Storage.Content;

namespace Sagas.ScanSessions.Fetching;

/// <summary>Section <c>ScanSessions:Fetching</c>: limits for reading one scanned file, whatever its source.</summary>
public sealed class ScanFetchingOptions
{
    public const string SectionName = "ScanSessions:Fetching";

    /// <summary>Largest file read from an upload, a URL or S3 (Drive has its own <c>ScanSessions:Drive:MaxDownloadBytes</c>).</summary>
    public long MaxFileBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Time allowed for fetching one file, retries included.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    public int MaxRedirects { get; set; } = 5;

    /// <summary>Retries of a URL after a transient failure (5xx, 408, 429, connection error).</summary>
    public int UrlMaxRetries { get; set; } = 2;

    /// <summary>First URL retry delay; it doubles per attempt, with jitter.</summary>
    public TimeSpan UrlRetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Let URLs reach loopback, private, link-local and other internal addresses. Off by default: a manifest is user
    /// input, and a URL such as http://169.254.169.254/ must not make the worker read the cloud metadata service.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>Buckets scans may read; empty allows every bucket the S3 credentials reach.</summary>
    public List<string> AllowedS3Buckets { get; set; } = [];

    /// <summary>Most objects one S3 prefix may expand to.</summary>
    public int MaxS3Objects { get; set; } = 100_000;

    public static ScanFetchingOptions Read(IConfiguration configuration)
    {
        var options = new ScanFetchingOptions();
        configuration.GetSection(SectionName).Bind(options);
        options.Validate();
        return options;
    }

    public void Validate()
    {
        if (MaxFileBytes <= 0 || MaxFileBytes > BoundedContent.MaxLimit)
            throw new SagasConfigurationException($"{SectionName}:{nameof(MaxFileBytes)} is {MaxFileBytes}; use a positive number of bytes up to {BoundedContent.MaxLimit}.");
        if (Timeout <= TimeSpan.Zero)
            throw new SagasConfigurationException($"{SectionName}:{nameof(Timeout)} is {Timeout}; use a positive duration, e.g. 00:01:00.");
        if (MaxRedirects is < 0 or > 20)
            throw new SagasConfigurationException($"{SectionName}:{nameof(MaxRedirects)} is {MaxRedirects}; use 0 to 20.");
        if (UrlMaxRetries is < 0 or > 10 || UrlRetryBaseDelay < TimeSpan.Zero)
            throw new SagasConfigurationException($"{SectionName}:{nameof(UrlMaxRetries)} must be 0 to 10 and {nameof(UrlRetryBaseDelay)} at least zero.");
        if (MaxS3Objects <= 0)
            throw new SagasConfigurationException($"{SectionName}:{nameof(MaxS3Objects)} is {MaxS3Objects}; use a positive number.");
    }

    public bool IsBucketAllowed(string bucket) =>
        AllowedS3Buckets.Count == 0 || AllowedS3Buckets.Contains(bucket, StringComparer.Ordinal);
}
