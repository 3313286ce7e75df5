using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;
using Sagas.ScanSessions.Consumers;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.Sources;

namespace Sagas.ScanSessions;

/// <summary>Settings of the scan session pipeline (section <c>ScanSessions</c>).</summary>
public sealed class ScanSessionsOptions
{
    public const string SectionName = "ScanSessions";

    /// <summary>ScanFile messages published per batch by the dispatcher.</summary>
    public int DispatchBatchSize { get; set; } = 500;

    /// <summary>Files scanned at once within one batch of a <c>scan-files</c> worker.</summary>
    public int FileConcurrency { get; set; } = 8;

    /// <summary>Most <c>ScanFile</c> messages a worker takes as one batch, recorded in one transaction.</summary>
    public int FileBatchSize { get; set; } = 100;

    /// <summary>Longest a worker waits for a batch to fill before it scans what it has.</summary>
    public TimeSpan FileBatchTimeLimit { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Batches one worker scans at once (one records while the next scans).</summary>
    public int FileBatchConcurrency { get; set; } = 2;

    /// <summary>Bytes of uploaded archives a worker keeps in memory between batches; a larger archive is read per entry.</summary>
    public long ArchiveCacheBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>How long an archive nobody reads stays in a worker's memory.</summary>
    public TimeSpan ArchiveCacheIdle { get; set; } = TimeSpan.FromMinutes(2);

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
        if (options.FileBatchSize is < 1 or > 1000)
            throw new SagasConfigurationException($"{SectionName}:{nameof(FileBatchSize)} is {options.FileBatchSize}; use 1 to 1000.");
        if (options.FileBatchTimeLimit <= TimeSpan.Zero || options.FileBatchTimeLimit > TimeSpan.FromSeconds(10))
            throw new SagasConfigurationException($"{SectionName}:{nameof(FileBatchTimeLimit)} must be above zero and at most 10 s.");
        if (options.FileBatchConcurrency is < 1 or > 64)
            throw new SagasConfigurationException($"{SectionName}:{nameof(FileBatchConcurrency)} is {options.FileBatchConcurrency}; use 1 to 64.");
        if (options.ArchiveCacheBytes < 0)
            throw new SagasConfigurationException($"{SectionName}:{nameof(ArchiveCacheBytes)} must not be negative (0 turns the cache off).");
        if (options.ArchiveCacheIdle <= TimeSpan.Zero)
            throw new SagasConfigurationException($"{SectionName}:{nameof(ArchiveCacheIdle)} must be above zero.");
        if (options.FileRetryLimit is < 0 or > 20)
            throw new SagasConfigurationException($"{SectionName}:{nameof(FileRetryLimit)} is {options.FileRetryLimit}; use 0 to 20.");
        if (options.ProgressInterval < TimeSpan.Zero)
            throw new SagasConfigurationException($"{SectionName}:{nameof(ProgressInterval)} must not be negative.");
        return options;
    }
}
