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
public sealed class BlobContent(Stream content, string contentType, long? length) : IAsyncDisposable, IDisposable
{
    public Stream Content { get; } = content;

    public string ContentType { get; } = contentType;

    public long? Length { get; } = length;

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
