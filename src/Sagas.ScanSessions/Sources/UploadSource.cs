using System.Globalization;
using System.IO.Compression;
using Sagas.ScanSessions.Files;

namespace Sagas.ScanSessions.Sources;

/// <summary>An uploaded file as the API received it. <see cref="Content"/> must be seekable (a buffered or stored upload).</summary>
public sealed record UploadedFile(string Name, Stream Content);

/// <summary>One entry's bytes, or why they cannot be had.</summary>
public sealed record EntryContent(byte[]? Content, FileError? Error);

/// <summary>
/// Lists the files of an upload: single files as they are, ZIP archives expanded one level. Archives are hostile
/// until proven otherwise: entry count, total and per-entry uncompressed size and compression ratio are bounded,
/// entries that could leave the archive's folder or are encrypted become per-file errors, nested archives are not
/// expanded, directories, empty entries and OS clutter (__MACOSX, .DS_Store, Thumbs.db) are skipped, and duplicate
/// names are told apart. Office packages (.docx, .xlsx) are ZIPs too but are files, never expanded.
/// </summary>
public sealed class UploadSource(ScanFilesOptions options)
{
    public const string NoFiles = "No file was uploaded.";
    public const string NothingToScan = "The upload contains no file to scan.";

    public SourceListing List(IReadOnlyList<UploadedFile> uploads)
    {
        ArgumentNullException.ThrowIfNull(uploads);
        if (uploads.Count == 0)
            return SourceListing.Failed(NoFiles);

        var files = new List<FileReference>();
        var problems = new List<SourceProblem>();
        var names = new UniqueNames();
        for (var index = 0; index < uploads.Count; index++)
        {
            var upload = uploads[index];
            if (!upload.Content.CanSeek)
                throw new ArgumentException("Uploaded content must be seekable: buffer or store the upload first.", nameof(uploads));

            var name = UploadName(upload.Name, index);
            if (IsArchive(name, upload.Content))
            {
                if (ListArchive(index, name, upload.Content, files, problems, names) is { } error)
                    return SourceListing.Failed(error, problems);
                continue;
            }

            var tooLarge = upload.Content.Length > options.MaxFileBytes
                ? new FileError(FileErrorKind.TooLarge, FileErrors.FileTooLarge(options.MaxFileBytes))
                : null;
            files.Add(new FileReference(names.Claim(name), FileReferenceKind.UploadEntry, new UploadLocator(index).ToString(), tooLarge));
        }

        return files.Count == 0 ? SourceListing.Failed(NothingToScan, problems) : new SourceListing(files, problems);
    }

    /// <summary>The bytes of one archive entry (by <see cref="UploadLocator.EntryIndex"/>), checked again as at listing time.</summary>
    public EntryContent ReadEntry(Stream archive, int entryIndex)
    {
        ArgumentNullException.ThrowIfNull(archive);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(archive, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (Exception exception) when (IsDamage(exception))
        {
            return Failed(FileErrorKind.Corrupt, FileErrors.Unreadable("ZIP entry", exception));
        }

        using (zip)
            return ReadEntry(zip, entryIndex);
    }

    /// <summary>
    /// The bytes of one entry of an archive already opened for reading, so a worker reading many entries of one upload
    /// parses its central directory once. Not thread-safe: entries of one <see cref="ZipArchive"/> share its stream.
    /// </summary>
    public EntryContent ReadEntry(ZipArchive zip, int entryIndex)
    {
        ArgumentNullException.ThrowIfNull(zip);
        try
        {
            if (entryIndex < 0 || entryIndex >= zip.Entries.Count)
                return Failed(FileErrorKind.Unavailable, string.Create(CultureInfo.InvariantCulture, $"The archive has no entry #{entryIndex}."));

            var entry = zip.Entries[entryIndex];
            if (!EntryPath.TryNormalize(entry.FullName, out _))
                return Failed(FileErrorKind.UnsafePath, FileErrors.UnsafePath);
            if (ZipParts.Check(entry, options.MaxFileBytes, options) is { } refused)
                return new EntryContent(null, refused);

            // Past the declared size the entry lies about itself: stop there instead of trusting the stream.
            return new EntryContent(ZipParts.ReadAll(entry, entry.Length), null);
        }
        catch (ZipParts.LimitExceededException exception)
        {
            return Failed(FileErrorKind.Corrupt, FileErrors.InflatesBeyond(exception.Limit));
        }
        catch (Exception exception) when (IsDamage(exception))
        {
            return Failed(FileErrorKind.Corrupt, FileErrors.Unreadable("ZIP entry", exception));
        }
    }

    /// <summary>A ZIP that is not an Office/OpenDocument package, or any ZIP named <c>.zip</c>.</summary>
    public static bool IsArchive(string name, Stream content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var start = content.Position;
        Span<byte> head = stackalloc byte[4];
        var read = content.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        content.Position = start;
        if (read < 4 || !FileSniffer.IsZip(head))
            return false;
        if (Path.GetExtension(name).Equals(".zip", StringComparison.OrdinalIgnoreCase))
            return true;

        try
        {
            using var zip = new ZipArchive(content, ZipArchiveMode.Read, leaveOpen: true);
            return zip.GetEntry("[Content_Types].xml") is null && zip.GetEntry("mimetype") is null;
        }
        catch (Exception exception) when (IsDamage(exception))
        {
            // A broken ZIP: list it as a file so that it gets its own error row.
            return false;
        }
        finally
        {
            content.Position = start;
        }
    }

    private string? ListArchive(int uploadIndex, string archiveName, Stream content, List<FileReference> files, List<SourceProblem> problems, UniqueNames names)
    {
        if (content.Length > options.MaxUploadBytes)
            return Invariant($"The ZIP archive '{archiveName}' is larger than {options.MaxUploadBytes} bytes (ScanSessions:Files:MaxUploadBytes).");

        var tooManyEntries = Invariant($"The ZIP archive '{archiveName}' has more than {options.MaxArchiveEntries} entries (ScanSessions:Files:MaxArchiveEntries).");
        if (ZipDirectory.DeclaredEntryCount(content) > options.MaxArchiveEntries)
            return tooManyEntries;

        try
        {
            using var zip = new ZipArchive(content, ZipArchiveMode.Read, leaveOpen: true);
            if (zip.Entries.Count > options.MaxArchiveEntries)
                return tooManyEntries;

            long totalBytes = 0;
            for (var entryIndex = 0; entryIndex < zip.Entries.Count; entryIndex++)
            {
                var entry = zip.Entries[entryIndex];
                var raw = entry.FullName;
                if (raw.EndsWith('/') || raw.EndsWith('\\'))
                    continue;

                var locator = new UploadLocator(uploadIndex, entryIndex).ToString();
                if (!EntryPath.TryNormalize(raw, out var path))
                {
                    files.Add(new FileReference(
                        names.Claim(EntryPath.Printable(raw)),
                        FileReferenceKind.UploadEntry,
                        locator,
                        new FileError(FileErrorKind.UnsafePath, FileErrors.UnsafePath)));
                    continue;
                }

                if (EntryPath.IsSystemClutter(path))
                    continue;

                if (entry.Length == 0)
                {
                    problems.Add(new SourceProblem($"Skipped the empty entry '{path}' of '{archiveName}'."));
                    continue;
                }

                totalBytes += entry.Length;
                if (totalBytes > options.MaxArchiveUncompressedBytes)
                {
                    return Invariant(
                        $"The ZIP archive '{archiveName}' inflates to more than {options.MaxArchiveUncompressedBytes} bytes (ScanSessions:Files:MaxArchiveUncompressedBytes).");
                }

                var error = ZipParts.Check(entry, options.MaxFileBytes, options);
                if (error is null && Path.GetExtension(path).Equals(".zip", StringComparison.OrdinalIgnoreCase))
                    error = new FileError(FileErrorKind.Unsupported, FileErrors.NestedArchive);

                files.Add(new FileReference(names.Claim(path), FileReferenceKind.UploadEntry, locator, error));
            }

            return null;
        }
        catch (Exception exception) when (IsDamage(exception))
        {
            return $"The ZIP archive '{archiveName}' could not be read: {FileErrors.Reason(exception)}";
        }
    }

    /// <summary>The last path segment of what the client sent (browsers send <c>C:\fakepath\x.pdf</c>), printable.</summary>
    private static string UploadName(string? name, int index)
    {
        var lastSegment = (name ?? string.Empty).Replace('\\', '/');
        lastSegment = lastSegment[(lastSegment.LastIndexOf('/') + 1)..].Trim();
        return lastSegment.Length == 0 || lastSegment.AsSpan().Trim('.').IsEmpty
            ? Invariant($"upload-{index + 1}")
            : EntryPath.Printable(lastSegment);
    }

    /// <summary>What System.IO.Compression throws for malformed archives (beyond the documented InvalidDataException).</summary>
    internal static bool IsDamage(Exception exception) =>
        exception is InvalidDataException or IOException or NotSupportedException or ArgumentException or InvalidOperationException or OverflowException;

    private static EntryContent Failed(FileErrorKind kind, string message) => new(null, new FileError(kind, message));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
