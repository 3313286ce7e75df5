using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;

namespace Sagas.ScanSessions;

/// <summary>Settings of the scan session pipeline (section <c>ScanSessions</c>).</summary>
public sealed class ScanSessionsOptions
{
    public const string SectionName = "ScanSessions";

    /// <summary><c>ScanFileChunk</c> messages published per batch by the dispatcher.</summary>
    [Range(1, 10_000)]
    public int DispatchBatchSize { get; set; } = 500;

    /// <summary>
    /// Most files the dispatcher puts in one <c>ScanFileChunk</c>, which a worker scans and counts as one batch. A message
    /// per file made the broker's and the dispatcher's work per file the session's critical path.
    /// </summary>
    [Range(1, 1000)]
    public int FilesPerMessage { get; set; } = 100;

    /// <summary>Files scanned at once within one batch of a <c>scan-files</c> worker.</summary>
    [Range(1, 256)]
    public int FileConcurrency { get; set; } = 8;

    /// <summary>Most <c>ScanFile</c> messages a worker takes as one batch, recorded in one transaction.</summary>
    [Range(1, 1000)]
    public int FileBatchSize { get; set; } = 100;

    /// <summary>Longest a worker waits for a batch to fill before it scans what it has.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10", MinimumIsExclusive = true)]
    public TimeSpan FileBatchTimeLimit { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Batches one worker scans at once (one records while the next scans).</summary>
    [Range(1, 64)]
    public int FileBatchConcurrency { get; set; } = 2;

    /// <summary>Bytes of uploaded archives a worker keeps in memory between batches; a larger archive is read per entry.</summary>
    [NotNegative(ErrorMessage = "{0} is {1}; it must not be negative (0 turns the cache off).")]
    public long ArchiveCacheBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>
    /// How long an archive nobody reads stays in a worker's memory. A scanning session's batches read it every few
    /// milliseconds, and a finished session's archive is never read again: at 2 minutes a worker running sessions back to
    /// back held a dozen finished ones, about 4 MB of managed memory each for 6,600 small files (docs/performance.md,
    /// scan-session). A late retry of a file (5–20 s later) loads its archive once more.
    /// </summary>
    [Positive]
    public TimeSpan ArchiveCacheIdle { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Attempts after the first for a file whose fetch failed transiently (each one a new <c>ScanFile</c> of that file
    /// alone, scheduled after <see cref="FileRetryDelay"/>, doubled each time up to a minute); then the file is
    /// recorded as Error.
    /// </summary>
    [Range(0, 20)]
    public int FileRetryLimit { get; set; } = 3;

    /// <summary>The wait before the first new attempt at a file whose fetch failed transiently.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", MinimumIsExclusive = true)]
    public TimeSpan FileRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Least time between two <c>ScanProgressed</c> events of one session, on top of "only when the integer percent
    /// grows"; the last file always reports 100 %.
    /// </summary>
    [NotNegative]
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(500);
}
