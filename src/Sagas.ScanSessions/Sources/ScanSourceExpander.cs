using Sagas.Contracts.ScanSessions;
using Sagas.ScanSessions.Fetching;
using Sagas.Storage.Blobs;

namespace Sagas.ScanSessions.Sources;

/// <summary>A file to scan, numbered by its position in the listing.</summary>
public sealed record ScanFileEntry(int Index, string Name, string Kind, string Locator, string? Error);

/// <summary>The files of a session, the upload blob keys that upload locators index into, or why there are none.</summary>
public sealed record ScanSourceListing(IReadOnlyList<ScanFileEntry> Files, IReadOnlyList<string> UploadKeys, string Description, string? Error);

/// <summary>
/// Turns a <see cref="ScanSource"/> into numbered file references. Deterministic for the same stored inputs, so a
/// redelivered dispatch numbers every file the same way and the result rows keyed by index stay exact.
/// </summary>
public sealed class ScanSourceExpander(
    IBlobStore blobs,
    UploadSource uploads,
    ManifestReader manifests,
    FileContentSource fileContent,
    S3PrefixLister s3)
{
    public async Task<ScanSourceListing> ListAsync(ScanSource source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Uploads is { Count: > 0 } uploaded)
            return await ListUploadsAsync(uploaded, cancellationToken);
        if (source.ManifestBlobKey is { } manifestKey)
            return await ListManifestAsync(manifestKey, source.ManifestName ?? "manifest", cancellationToken);
        if (source.S3Prefix is { } prefix)
            return await ListS3Async(prefix, cancellationToken);
        if (source.FileContentBlobKey is { } contentKey)
            return await ListFileContentAsync(contentKey, source.FileContentName, cancellationToken);
        return Failed("none", "The session names no source: uploads, a manifest, an S3 prefix or file_content.");
    }

    private async Task<ScanSourceListing> ListUploadsAsync(IReadOnlyList<ScanUpload> uploaded, CancellationToken cancellationToken)
    {
        var description = uploaded.Count == 1 ? $"upload {uploaded[0].Name}" : $"{uploaded.Count} uploads";
        var streams = new List<Stream>();
        try
        {
            var files = new List<UploadedFile>();
            foreach (var upload in uploaded)
            {
                var content = await OpenSeekableAsync(upload.BlobKey, cancellationToken);
                if (content is null)
                    return Failed(description, $"The uploaded file '{upload.Name}' is no longer in storage.");
                streams.Add(content);
                files.Add(new UploadedFile(upload.Name, content));
            }

            return FromListing(uploads.List(files), [.. uploaded.Select(u => u.BlobKey)], description);
        }
        finally
        {
            foreach (var stream in streams)
                await stream.DisposeAsync();
        }
    }

    private async Task<ScanSourceListing> ListManifestAsync(string key, string name, CancellationToken cancellationToken)
    {
        var description = $"manifest {name}";
        var content = await ReadAllAsync(key, cancellationToken);
        return content is null
            ? Failed(description, $"The manifest '{name}' is no longer in storage.")
            : FromListing(manifests.Read(name, content), [], description);
    }

    private async Task<ScanSourceListing> ListFileContentAsync(string key, string? name, CancellationToken cancellationToken)
    {
        var description = $"file_content {name ?? key}";
        var content = await ReadAllAsync(key, cancellationToken);
        if (content is null)
            return Failed(description, "The submitted file_content is no longer in storage.");

        // file_content is a single upload (upload:0) unless it turns out to be a manifest of links.
        return FromListing(fileContent.List(Convert.ToBase64String(content), name), [key], description);
    }

    private async Task<ScanSourceListing> ListS3Async(string prefix, CancellationToken cancellationToken)
    {
        if (!S3Prefix.TryParse(prefix, out var location, out var error))
            return Failed(prefix, error);

        var listed = await s3.ListAsync(location, cancellationToken);
        if (listed.Failure is { } failure)
        {
            if (failure.Retryable)
                throw new ScanSourceUnavailableException(failure.Reason);
            return Failed(prefix, failure.Reason);
        }

        var names = new UniqueNames();
        var files = listed.Value!
            .OrderBy(item => item.Reference.Key, StringComparer.Ordinal)
            .Select((item, index) => new ScanFileEntry(
                index,
                names.Claim(EntryPath.Printable(item.Reference.Key[(item.Reference.Key.LastIndexOf('/') + 1)..])),
                ScanFileKinds.S3,
                item.Reference.ToString(),
                null))
            .ToList();
        return files.Count == 0
            ? Failed(location.ToString(), $"{location} holds no file to scan.")
            : new ScanSourceListing(files, [], location.ToString(), null);
    }

    private static ScanSourceListing FromListing(SourceListing listing, IReadOnlyList<string> uploadKeys, string description)
    {
        if (!listing.Succeeded)
            return Failed(description, listing.Error!);

        var files = listing.Files.Select((file, index) => new ScanFileEntry(
                index,
                file.Name,
                file.Kind switch
                {
                    FileReferenceKind.UploadEntry => ScanFileKinds.Upload,
                    FileReferenceKind.DriveFile => ScanFileKinds.Drive,
                    _ => ScanFileKinds.Url,
                },
                file.Locator,
                file.Error?.Message))
            .ToList();
        return files.Count == 0
            ? Failed(description, "The source lists no file to scan.")
            : new ScanSourceListing(files, uploadKeys, description, null);
    }

    private static ScanSourceListing Failed(string description, string error) => new([], [], description, error);

    private async Task<Stream?> OpenSeekableAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var blob = await blobs.OpenReadAsync(key, cancellationToken);
            if (blob.Content.CanSeek)
                return blob.Content;

            await using (blob)
            {
                var buffer = new MemoryStream();
                await blob.Content.CopyToAsync(buffer, cancellationToken);
                buffer.Position = 0;
                return buffer;
            }
        }
        catch (BlobNotFoundException)
        {
            return null;
        }
    }

    private async Task<byte[]?> ReadAllAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await using var blob = await blobs.OpenReadAsync(key, cancellationToken);
            using var buffer = new MemoryStream();
            await blob.Content.CopyToAsync(buffer, cancellationToken);
            return buffer.ToArray();
        }
        catch (BlobNotFoundException)
        {
            return null;
        }
    }
}

/// <summary>A source that may answer on a later attempt (S3 throttling, an outage): the message is retried.</summary>
public sealed class ScanSourceUnavailableException(string message) : Exception(message);
