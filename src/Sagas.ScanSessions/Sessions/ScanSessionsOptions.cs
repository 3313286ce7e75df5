using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;

namespace Sagas.ScanSessions.Sessions;

/// <summary>Settings of the scan session pipeline (section <c>ScanSessions</c>).</summary>
public sealed class ScanSessionsOptions
{
    public const string SectionName = "ScanSessions";

    /// <summary>ScanFile messages published per batch by the dispatcher.</summary>
    public int DispatchBatchSize { get; set; } = 500;

    /// <summary>Files scanned at once by one <c>scan-files</c> worker.</summary>
    public int FileConcurrency { get; set; } = 8;

    /// <summary>Attempts after the first for a file whose fetch failed transiently; then the file is recorded as Error.</summary>
    public int FileRetryLimit { get; set; } = 3;

    /// <summary>
    /// Least time between two <c>ScanProgressed</c> events of one session, on top of "only when the integer percent
    /// grows"; the last file always reports 100 %.
    /// </summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    public static ScanSessionsOptions Read(IConfiguration configuration)
    {
        var options = new ScanSessionsOptions();
        configuration.GetSection(SectionName).Bind(options);
        if (options.DispatchBatchSize is < 1 or > 10_000)
            throw new SagasConfigurationException($"{SectionName}:{nameof(DispatchBatchSize)} is {options.DispatchBatchSize}; use 1 to 10000.");
        if (options.FileConcurrency is < 1 or > 256)
            throw new SagasConfigurationException($"{SectionName}:{nameof(FileConcurrency)} is {options.FileConcurrency}; use 1 to 256.");
        if (options.FileRetryLimit is < 0 or > 20)
            throw new SagasConfigurationException($"{SectionName}:{nameof(FileRetryLimit)} is {options.FileRetryLimit}; use 0 to 20.");
        if (options.ProgressInterval < TimeSpan.Zero)
            throw new SagasConfigurationException($"{SectionName}:{nameof(ProgressInterval)} must not be negative.");
        return options;
    }
}
