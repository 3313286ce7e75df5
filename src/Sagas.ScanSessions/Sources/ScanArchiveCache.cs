using System.Collections.Concurrent;
using System.IO.Compression;
using Sagas.ScanSessions.Files;
using Sagas.Storage.Blobs;

namespace Sagas.ScanSessions.Sources;

/// <summary>
/// The uploaded archives a file worker is reading, kept in memory with their central directory parsed: a 6,600-entry
/// ZIP read entry by entry would otherwise be fetched and its directory parsed 6,600 times (quadratic work). Bounded by
/// <see cref="ScanSessionsOptions.ArchiveCacheBytes"/> (least recently used archives leave first, idle ones after
/// <see cref="ScanSessionsOptions.ArchiveCacheIdle"/>); a larger archive is read from the store per entry as before.
/// </summary>
public sealed class ScanArchiveCache(IBlobStore blobs, UploadSource uploads, ScanSessionsOptions options, TimeProvider clock)
{
    public const string ArchiveGone = "The uploaded archive is no longer in storage.";

    private readonly ConcurrentDictionary<string, Lazy<Task<CachedArchive?>>> _archives = new(StringComparer.Ordinal);

    // Archives found too large to keep: not loaded again just to learn that again.
    private readonly ConcurrentDictionary<string, bool> _uncacheable = new(StringComparer.Ordinal);

    public async Task<EntryContent> ReadEntryAsync(string archiveKey, int entryIndex, CancellationToken cancellationToken)
    {
        EvictIdle();
        if (_uncacheable.ContainsKey(archiveKey))
            return await ReadUncachedAsync(archiveKey, entryIndex, cancellationToken);

        var loading = _archives.GetOrAdd(archiveKey, key => new Lazy<Task<CachedArchive?>>(() => LoadAsync(key)));
        CachedArchive? archive;
        try
        {
            archive = await loading.Value.WaitAsync(cancellationToken);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            // A failed load is not remembered: the next read tries again.
            _archives.TryRemove(new KeyValuePair<string, Lazy<Task<CachedArchive?>>>(archiveKey, loading));
            if (exception is BlobNotFoundException)
                return new EntryContent(null, new FileError(FileErrorKind.Unavailable, ArchiveGone));
            throw;
        }

        if (archive is null)
        {
            // Too large to keep (or not a readable ZIP): drop the placeholder and read entries straight from the store.
            if (_uncacheable.Count < 1000)
                _uncacheable.TryAdd(archiveKey, true);
            _archives.TryRemove(new KeyValuePair<string, Lazy<Task<CachedArchive?>>>(archiveKey, loading));
            return await ReadUncachedAsync(archiveKey, entryIndex, cancellationToken);
        }

        return archive.Read(uploads, entryIndex, clock.GetUtcNow());
    }

    /// <summary>Bytes held by the cached archives (for tests and diagnostics).</summary>
    public long CachedBytes => Cached().Sum(archive => archive.Size);

    /// <summary>Not cancelled by the first reader's token: other readers may be waiting on the same load.</summary>
    private async Task<CachedArchive?> LoadAsync(string key)
    {
        var cancellationToken = CancellationToken.None;
        await using var blob = await blobs.OpenReadAsync(key, cancellationToken);
        var declared = blob.Length ?? (blob.Content.CanSeek ? blob.Content.Length : (long?)null);
        if (declared > options.ArchiveCacheBytes)
            return null;

        using var buffer = new MemoryStream(declared is { } size ? (int)size : 0);
        await blob.Content.CopyToAsync(buffer, cancellationToken);
        if (buffer.Length > options.ArchiveCacheBytes)
            return null;

        var bytes = buffer.ToArray();
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(new MemoryStream(bytes, writable: false), ZipArchiveMode.Read);
        }
        catch (Exception exception) when (UploadSource.IsDamage(exception))
        {
            return null;
        }

        var archive = new CachedArchive(key, zip, bytes.LongLength, clock.GetUtcNow());
        MakeRoom(key, archive.Size);
        return archive;
    }

    private async Task<EntryContent> ReadUncachedAsync(string archiveKey, int entryIndex, CancellationToken cancellationToken)
    {
        BlobContent blob;
        try
        {
            blob = await blobs.OpenReadAsync(archiveKey, cancellationToken);
        }
        catch (BlobNotFoundException)
        {
            return new EntryContent(null, new FileError(FileErrorKind.Unavailable, ArchiveGone));
        }

        await using (blob)
        {
            var archive = blob.Content;
            MemoryStream? buffered = null;
            if (!archive.CanSeek)
            {
                // ZIP needs its central directory at the end: a non-seekable store stream is buffered first.
                buffered = new MemoryStream();
                await archive.CopyToAsync(buffered, cancellationToken);
                buffered.Position = 0;
                archive = buffered;
            }

            using (buffered)
                return uploads.ReadEntry(archive, entryIndex);
        }
    }

    private void MakeRoom(string incomingKey, long incoming)
    {
        var held = Cached().Where(archive => archive.Key != incomingKey).OrderBy(archive => archive.LastUsed).ToList();
        var total = held.Sum(archive => archive.Size) + incoming;
        foreach (var oldest in held)
        {
            if (total <= options.ArchiveCacheBytes)
                break;
            // Readers holding a reference finish with it; the bytes go when the last one lets go.
            if (_archives.TryGetValue(oldest.Key, out var entry))
                _archives.TryRemove(new KeyValuePair<string, Lazy<Task<CachedArchive?>>>(oldest.Key, entry));
            total -= oldest.Size;
        }
    }

    private void EvictIdle()
    {
        var cutoff = clock.GetUtcNow() - options.ArchiveCacheIdle;
        foreach (var idle in Cached().Where(archive => archive.LastUsed < cutoff))
        {
            if (_archives.TryGetValue(idle.Key, out var entry))
                _archives.TryRemove(new KeyValuePair<string, Lazy<Task<CachedArchive?>>>(idle.Key, entry));
        }
    }

    private IEnumerable<CachedArchive> Cached() =>
        _archives.Values
            .Where(lazy => lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully && lazy.Value.Result is not null)
            .Select(lazy => lazy.Value.Result!);

    private sealed class CachedArchive(string key, ZipArchive zip, long size, DateTimeOffset loadedAt)
    {
        // One ZipArchive shares one stream between its entries: reads take turns (an entry inflates in microseconds).
        private readonly Lock _gate = new();
        private long _lastUsedTicks = loadedAt.UtcTicks;

        public string Key { get; } = key;

        public long Size { get; } = size;

        public DateTimeOffset LastUsed => new(Interlocked.Read(ref _lastUsedTicks), TimeSpan.Zero);

        public EntryContent Read(UploadSource uploads, int entryIndex, DateTimeOffset now)
        {
            Interlocked.Exchange(ref _lastUsedTicks, now.UtcTicks);
            lock (_gate)
                return uploads.ReadEntry(zip, entryIndex);
        }
    }
}
