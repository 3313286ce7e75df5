using Sagas.ScanSessions.Files;

namespace Sagas.ScanSessions.Sources;

public enum FileReferenceKind
{
    /// <summary>An uploaded file or one entry of an uploaded ZIP; <see cref="FileReference.Locator"/> is an <see cref="UploadLocator"/>.</summary>
    UploadEntry,

    /// <summary>A Google Drive file; the locator is its file id.</summary>
    DriveFile,

    /// <summary>A plain http(s) URL; the locator is the absolute URL.</summary>
    Url,
}

/// <summary>
/// One file of a session as a source listed it. <see cref="Name"/> is unique within the listing (case-insensitively)
/// and safe to show. <see cref="Error"/> is set when the file is known to be unreadable before fetching it
/// (unsafe path, encrypted or oversized entry, nested archive): record it as an error row without fetching.
/// </summary>
public sealed record FileReference(string Name, FileReferenceKind Kind, string Locator, FileError? Error = null);

/// <summary>A non-fatal remark about the input: a skipped entry or a manifest row that could not be used.</summary>
public sealed record SourceProblem(string Message, int? Row = null);

/// <summary>What a source yielded: files to scan and remarks, or (with <see cref="Error"/>) a refusal of the whole input.</summary>
public sealed record SourceListing(IReadOnlyList<FileReference> Files, IReadOnlyList<SourceProblem> Problems, string? Error = null)
{
    public bool Succeeded => Error is null;

    public static SourceListing Failed(string error, IReadOnlyList<SourceProblem>? problems = null) =>
        new(Array.Empty<FileReference>(), problems ?? Array.Empty<SourceProblem>(), error);
}
