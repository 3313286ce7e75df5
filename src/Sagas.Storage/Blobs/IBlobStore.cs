namespace Sagas.Storage.Blobs;

/// <summary>
/// Where uploads and reports live: a local folder (embedded default) or an S3 bucket. Keys are
/// '/'-separated relative paths validated by <see cref="BlobKey"/>, identical for every provider.
/// </summary>
public interface IBlobStore
{
    /// <summary>Stores <paramref name="content"/> under <paramref name="key"/>, replacing any previous blob; readers never see a partial blob.</summary>
    Task PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken = default);

    /// <summary>Opens a stored blob for reading. Throws <see cref="BlobNotFoundException"/> when it does not exist.</summary>
    Task<BlobContent> OpenReadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens <paramref name="length"/> bytes of a stored blob from <paramref name="offset"/> (fewer where the blob ends
    /// first): an S3 ranged GET, a seek in a local file. Throws <see cref="BlobNotFoundException"/> when it does not exist.
    /// The default reads the blob from its start and skips to the range, for stores that cannot do better.
    /// </summary>
    async Task<BlobContent> OpenReadRangeAsync(string key, long offset, long length, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var blob = await OpenReadAsync(key, cancellationToken);
        try
        {
            if (blob.Content.CanSeek)
                blob.Content.Seek(offset, SeekOrigin.Begin);
            else
                await RangeReadStream.SkipAsync(blob.Content, offset, cancellationToken);
            var available = blob.Length is { } total ? Math.Max(0, Math.Min(length, total - offset)) : length;
            return new BlobContent(new RangeReadStream(blob.Content, available), blob.ContentType, available, blob.Length);
        }
        catch
        {
            await blob.DisposeAsync();
            throw;
        }
    }

    /// <summary>The size of a stored blob in bytes. Throws <see cref="BlobNotFoundException"/> when it does not exist.</summary>
    async Task<long> GetLengthAsync(string key, CancellationToken cancellationToken = default)
    {
        await using var blob = await OpenReadAsync(key, cancellationToken);
        if (blob.Length is { } length)
            return length;
        if (blob.Content.CanSeek)
            return blob.Content.Length;
        var counted = 0L;
        var buffer = new byte[81920];
        int read;
        while ((read = await blob.Content.ReadAsync(buffer, cancellationToken)) > 0)
            counted += read;
        return counted;
    }

    Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Removes a blob; removing a missing blob is not an error (deletes are retried under at-least-once delivery).</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Every blob whose key starts with <paramref name="prefix"/> (plain string prefix, as in S3), in ordinal key order.
    /// An empty prefix lists everything.
    /// </summary>
    IAsyncEnumerable<BlobItem> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>
    /// A URL a browser can download the blob from until it expires (default <see cref="BlobLinks.DefaultExpiry"/>);
    /// the download is offered as <paramref name="fileName"/>. Local storage gives a signed link the API serves,
    /// S3 a presigned GET URL.
    /// </summary>
    Task<Uri> GetDownloadLinkAsync(string key, string fileName, TimeSpan? expiresIn = null, CancellationToken cancellationToken = default);
}

public sealed record BlobItem(string Key, long Size);

/// <summary>An open blob. Dispose it to release the file handle or HTTP connection.</summary>
/// <param name="length">Bytes <paramref name="content"/> holds (of the range, for a ranged read), when known.</param>
/// <param name="totalLength">The whole blob's size, when known (for a ranged read; the same as the length otherwise).</param>
public sealed class BlobContent(Stream content, string contentType, long? length, long? totalLength = null) : IAsyncDisposable, IDisposable
{
    public Stream Content { get; } = content;

    public string ContentType { get; } = contentType;

    public long? Length { get; } = length;

    public long? TotalLength { get; } = totalLength ?? length;

    public ValueTask DisposeAsync() => Content.DisposeAsync();

    public void Dispose() => Content.Dispose();
}

public sealed class BlobNotFoundException(string key) : Exception($"Blob '{key}' does not exist.")
{
    public string Key { get; } = key;
}

public static class BlobLinks
{
    public static readonly TimeSpan DefaultExpiry = TimeSpan.FromHours(1);

    /// <summary>Links live at most a week: the S3 presigning limit, and long enough for any report download.</summary>
    public static readonly TimeSpan MaxExpiry = TimeSpan.FromDays(7);

    internal static TimeSpan Resolve(TimeSpan? expiresIn)
    {
        var value = expiresIn ?? DefaultExpiry;
        if (value <= TimeSpan.Zero || value > MaxExpiry)
            throw new ArgumentOutOfRangeException(nameof(expiresIn), value, $"A download link must expire after more than zero and at most {MaxExpiry.TotalDays} days.");
        return value;
    }
}
