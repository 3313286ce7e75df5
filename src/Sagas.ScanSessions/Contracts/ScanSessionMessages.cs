namespace Sagas.Contracts.ScanSessions;

/// <summary>One uploaded file already stored in the blob store.</summary>
public sealed record ScanUpload(string BlobKey, string Name);

/// <summary>
/// Where a session's files come from; exactly one of the members is set. <see cref="FileContentBlobKey"/> holds the
/// decoded bytes of a <c>file_content</c> submission (a manifest, a ZIP or a single file, told apart by content).
/// </summary>
public sealed record ScanSource(
    IReadOnlyList<ScanUpload>? Uploads = null,
    string? ManifestBlobKey = null,
    string? ManifestName = null,
    string? S3Prefix = null,
    string? FileContentBlobKey = null,
    string? FileContentName = null);

/// <summary>
/// Starts a scan session (API → saga). A Google Drive token never travels in a message: the API stores it encrypted
/// beside the session row (<c>scan_session_secrets</c>), where the file workers read it.
/// </summary>
public sealed record StartScanSession(
    Guid SessionId,
    ScanSource Source,
    IReadOnlyList<string> TargetCodes,
    string? RequestedBy);

/// <summary>Saga → dispatcher: expand the source into files and send them to the file workers in <see cref="ScanFileChunk"/>s.</summary>
public sealed record DispatchScanSession(
    Guid SessionId,
    ScanSource Source,
    IReadOnlyList<string> TargetCodes,
    string? RequestedBy);

/// <summary>Every file of the session was sent to the file workers.</summary>
public sealed record ScanFilesDispatched(Guid SessionId, int TotalFiles);

/// <summary>
/// Work for one file. <see cref="Kind"/> is <c>upload</c>, <c>drive</c>, <c>url</c> or <c>s3</c>; <see cref="Error"/>,
/// when set, is a problem known at listing time (unsafe ZIP entry, file too large): recorded without fetching. A Drive
/// file's worker reads the session's token from the database, never from the message. <see cref="Attempt"/> counts
/// the times the file worker sent the file back to itself after a transient fetch failure (0 for the dispatcher's).
/// </summary>
public sealed record ScanFile(
    Guid SessionId,
    int FileIndex,
    string Name,
    string Kind,
    string Locator,
    string? Error = null,
    int Attempt = 0);

/// <summary>
/// Work for several files of one session, in file order (dispatcher → <c>scan-file-chunk</c>): a worker scans them and
/// counts them in one transaction. Up to <c>ScanSessions:FilesPerMessage</c> files, fewer when their names and locators
/// are long. A file sent again after a transient fetch failure travels alone, as a <see cref="ScanFile"/>.
/// </summary>
public sealed record ScanFileChunk(Guid SessionId, IReadOnlyList<ScanFile> Files);

/// <summary>A target code was found in a file (one event per code and file); <paramref name="OcrConfidence"/> is set when only OCR found it.</summary>
public sealed record ScanMatchFound(Guid SessionId, string HoleCode, string FileName, string Status, string? Link, double? OcrConfidence = null);

/// <summary>
/// Progress, throttled: at most once per integer percent. <paramref name="OcrPages"/> and <paramref name="OcrSeconds"/>
/// are the session's OCR so far (pages read, child-process time summed over files); added later, so they default to 0.
/// </summary>
public sealed record ScanProgressed(Guid SessionId, int Processed, int Total, int Percent, int OcrPages = 0, double OcrSeconds = 0);

/// <summary>The last file's result was recorded.</summary>
public sealed record ScanFilesCompleted(Guid SessionId, int Total, int Matches);

/// <summary>Saga → report builder.</summary>
public sealed record BuildScanReport(Guid SessionId);

/// <summary>The workbook is stored under <see cref="BlobKey"/>.</summary>
public sealed record ScanReportBuilt(Guid SessionId, string BlobKey);

/// <summary>The outcome of a successful session.</summary>
public sealed record ScanSessionCompleted(Guid SessionId, string ReportBlobKey, int TotalMatches, int TotalProcessed);

/// <summary>The session cannot go on (nothing to scan, no codes, an unreadable source).</summary>
public sealed record ScanSessionFailed(Guid SessionId, string Reason);

/// <summary>
/// A user asks to cancel (API → <c>cancel-scan-session</c>). Only a request: it wins only if it reaches the session row
/// before the last file is counted, and then <see cref="ScanSessionCancelled"/> says so.
/// </summary>
public sealed record CancelScanSession(Guid SessionId);

/// <summary>The session row was cancelled: the cancel committed before the last file was counted (cancel consumer, outbox).</summary>
public sealed record ScanSessionCancelled(Guid SessionId);
