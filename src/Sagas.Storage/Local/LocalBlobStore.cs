using System.Runtime.CompilerServices;
using System.Text;
using Sagas.Storage.Blobs;

namespace Sagas.Storage.Local;

/// <summary>
/// Blobs as files under one root folder. A blob's content type is kept beside it in <c>.meta/{key}</c>; names starting
/// with '.' are never valid keys, so that folder and the temporary files of unfinished writes are out of every key's reach.
/// </summary>
public sealed class LocalBlobStore : IBlobStore
{
    private const string MetadataFolder = ".meta";
    private const string DefaultContentType = "application/octet-stream";

    private readonly string _root;
    private readonly LocalBlobLinks _links;

    public LocalBlobStore(string root, LocalBlobLinks links)
    {
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        _links = links;
        Directory.CreateDirectory(_root);
    }

    public string Root => _root;

    public LocalBlobLinks Links => _links;

    public async Task PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken = default)
    {
        var path = ResolvePath(key);
        await WriteAtomicallyAsync(ResolveMetadataPath(key), target => target.WriteAsync(Encoding.UTF8.GetBytes(NormalizeContentType(contentType)), cancellationToken).AsTask(), cancellationToken);
        await WriteAtomicallyAsync(path, target => content.CopyToAsync(target, cancellationToken), cancellationToken);
    }

    public async Task<BlobContent> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = ResolvePath(key);
        FileStream stream;
        try
        {
            stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                // Delete/replace while a download is running must not fail the writer.
                Share = FileShare.Read | FileShare.Delete,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
            });
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BlobNotFoundException(key);
        }

        var contentType = await ReadContentTypeAsync(key, cancellationToken);
        return new BlobContent(stream, contentType, stream.Length);
    }

    public async Task<BlobContent> OpenReadRangeAsync(string key, long offset, long length, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var blob = await OpenReadAsync(key, cancellationToken);
        var stream = blob.Content;
        var total = stream.Length;
        var available = Math.Max(0, Math.Min(length, total - offset));
        stream.Position = Math.Min(offset, total);
        return new BlobContent(new RangeReadStream(stream, available), blob.ContentType, available, total);
    }

    public Task<long> GetLengthAsync(string key, CancellationToken cancellationToken = default)
    {
        var file = new FileInfo(ResolvePath(key));
        return file.Exists ? Task.FromResult(file.Length) : throw new BlobNotFoundException(key);
    }

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => Task.FromResult(File.Exists(ResolvePath(key)));

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        File.Delete(ResolvePath(key));
        var metadata = ResolveMetadataPath(key);
        if (File.Exists(metadata))
            File.Delete(metadata);
        return Task.CompletedTask;
    }

#pragma warning disable CS1998 // The file system API is synchronous; the signature is the store contract.
    public async IAsyncEnumerable<BlobItem> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        prefix = BlobKey.ValidatePrefix(prefix);
        var slash = prefix.LastIndexOf('/');
        var folder = slash < 0 ? _root : Path.Combine(_root, prefix[..slash]);
        if (!Directory.Exists(folder))
            yield break;

        var items = new List<BlobItem>();
        foreach (var file in Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true }))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var key = Path.GetRelativePath(_root, file).Replace(Path.DirectorySeparatorChar, '/');
            if (!key.StartsWith(prefix, StringComparison.Ordinal) || !BlobKey.IsValid(key, out _))
                continue;
            items.Add(new BlobItem(key, new FileInfo(file).Length));
        }

        items.Sort((left, right) => string.CompareOrdinal(left.Key, right.Key));
        foreach (var item in items)
            yield return item;
    }
#pragma warning restore CS1998

    public Task<Uri> GetDownloadLinkAsync(string key, string fileName, TimeSpan? expiresIn = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(_links.Create(key, fileName, expiresIn));

    private string ResolvePath(string key) => ResolveUnder(_root, key);

    private string ResolveMetadataPath(string key) => ResolveUnder(Path.Combine(_root, MetadataFolder), key);

    private static string ResolveUnder(string root, string key)
    {
        BlobKey.Validate(key);
        var path = Path.GetFullPath(Path.Combine(root, key));
        // The key rules already exclude traversal; this is the second lock on the same door.
        if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"Invalid blob key '{key}': it resolves outside the storage root.", nameof(key));
        return path;
    }

    private async Task<string> ReadContentTypeAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var value = (await File.ReadAllTextAsync(ResolveMetadataPath(key), cancellationToken)).Trim();
            return value.Length > 0 ? value : DefaultContentType;
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return DefaultContentType;
        }
    }

    private static string NormalizeContentType(string contentType) =>
        string.IsNullOrWhiteSpace(contentType) || contentType.Any(char.IsControl) ? DefaultContentType : contentType.Trim();

    private static async Task WriteAtomicallyAsync(string path, Func<Stream, Task> write, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".tmp-{Guid.NewGuid():N}");
        try
        {
            await using (var target = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                await write(target);
                await target.FlushAsync(cancellationToken);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
                File.Delete(temporary);
        }
    }
}
