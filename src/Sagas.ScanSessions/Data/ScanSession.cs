namespace Sagas.ScanSessions.Data;

public static class ScanSessionStatus
{
    public const string Dispatching = "dispatching";
    public const string Scanning = "scanning";
    public const string Reporting = "reporting";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    /// <summary>Every status, in the order a session goes through them: the list's filter values.</summary>
    public static readonly string[] All = [Dispatching, Scanning, Reporting, Completed, Failed, Cancelled];

    /// <summary>The statuses a session never leaves: only these are ever touched by retention.</summary>
    public static readonly string[] Finished = [Completed, Failed, Cancelled];
}

/// <summary>
/// A scan session's rows of record: written by the dispatcher, the file workers (counters, one transaction per file)
/// and the report builder. The saga never holds these counts.
/// </summary>
public class ScanSession
{
    public Guid Id { get; set; }

    public string Status { get; set; } = ScanSessionStatus.Dispatching;

    /// <summary>Bumped as the first statement of every counting transaction: takes the row lock.</summary>
    public long Revision { get; set; }

    /// <summary>Null until the dispatcher has listed the source.</summary>
    public int? TotalFiles { get; set; }

    public int ProcessedFiles { get; set; }

    public int MatchedFiles { get; set; }

    public int TotalMatches { get; set; }

    public int ErrorFiles { get; set; }

    /// <summary>Pages (PDF pages or image frames) read with OCR so far.</summary>
    public int OcrPages { get; set; }

    /// <summary>Wall-clock time spent in OCR so far, summed over files (files run in parallel, so it can exceed the session's age).</summary>
    public long OcrMilliseconds { get; set; }

    /// <summary>Target hole codes as a JSON array.</summary>
    public string CodesJson { get; set; } = "[]";

    /// <summary>Blob keys of uploaded files as a JSON array; upload locators index into it.</summary>
    public string UploadsJson { get; set; } = "[]";

    public string SourceDescription { get; set; } = "";

    public string? RequestedBy { get; set; }

    public string? ReportBlobKey { get; set; }

    public string? Error { get; set; }

    public int LastProgressPercent { get; set; }

    public DateTimeOffset? LastProgressAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? DispatchedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>When retention deleted the session's source blobs (uploads, manifest, file content); null while they are kept.</summary>
    public DateTimeOffset? SourceDeletedAt { get; set; }
}

/// <summary>One file's outcome; the key (session, index) makes a redelivered file a no-op.</summary>
public class ScanFileResult
{
    public Guid SessionId { get; set; }

    public int FileIndex { get; set; }

    public string Name { get; set; } = "";

    public string Kind { get; set; } = "";

    public string Locator { get; set; } = "";

    public string? Link { get; set; }

    /// <summary><c>No Code</c>, <c>1 Code</c>, <c>N Codes</c> or <c>Error</c>.</summary>
    public string Status { get; set; } = "";

    /// <summary>Matched codes as a JSON array.</summary>
    public string MatchedCodesJson { get; set; } = "[]";

    public int MatchCount { get; set; }

    public string? Error { get; set; }

    /// <summary>The codes found only by OCR, with their confidence, as a JSON array; null when OCR found none.</summary>
    public string? OcrMatchesJson { get; set; }

    /// <summary>Pages (or image frames) of this file read with OCR.</summary>
    public int OcrPages { get; set; }

    public DateTimeOffset ProcessedAt { get; set; }
}
