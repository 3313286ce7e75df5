using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Compression;
using Sagas.ScanSessions.Consumers;
using Sagas.ScanSessions.Fetching;
using Sagas.ScanSessions.Files;
using Sagas.Storage.Blobs;

namespace Sagas.ScanSessions.Sources;

/// <summary>
/// The uploaded archives a file worker is reading, kept in memory with their central directory parsed: a 6,600-entry
/// ZIP read entry by entry would otherwise be fetched and its directory parsed 6,600 times (quadratic work). Bounded by
/// <see cref="ScanSessionsOptions.ArchiveCacheBytes"/> (least recently used archives leave first, idle ones after
/// <see cref="ScanSessionsOptions.ArchiveCacheIdle"/>). A larger archive is never held: its central directory is read
/// once (two ranged reads) and kept (<see cref="ZipIndex"/>), and each entry is one ranged read of its local header and
/// compressed data, so a worker reads such an archive about once in all instead of once per entry. Every read of the
/// store goes through <see cref="BlobReadRetry"/>; a read still failing transiently after it is the file's transient
/// failure (<see cref="ScanFileUnavailableException"/>), a missing archive its Error.
/// </summary>
public sealed class ScanArchiveCache(IBlobStore blobs, UploadSource uploads, ScanSessionsOptions options, TimeProvider clock, BlobReadRetry retry)
{
    public const string ArchiveGone = "The uploaded archive is no longer in storage.";

    /// <summary>Largest central directory kept for ranged reads (20,000 entries take about 2 MB).</summary>
    private const long MaxDirectoryBytes = 64L * 1024 * 1024;

    /// <summary>Directories kept at once; a worker reads few archives at a time.</summary>
    private const int MaxIndexes = 64;

    private readonly ConcurrentDictionary<string, Lazy<Task<CachedArchive?>>> _archives = new(StringComparer.Ordinal);

    // Archives found too large to keep: their directories, read once, for ranged reads of their entries.
    private readonly ConcurrentDictionary<string, Lazy<Task<ZipIndex?>>> _indexes = new(StringComparer.Ordinal);

    public async Task<EntryContent> ReadEntryAsync(string archiveKey, int entryIndex, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadAsync(archiveKey, entryIndex, cancellationToken);
        }
        catch (BlobNotFoundException)
        {
            return new EntryContent(null, new FileError(FileErrorKind.Unavailable, ArchiveGone));
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && BlobErrors.IsTransient(exception))
        {
            throw new ScanFileUnavailableException($"The uploaded archive could not be read from storage for now: {FileErrors.Reason(exception)}");
        }
    }

    /// <summary>Bytes held by the cached archives (for tests and diagnostics).</summary>
    public long CachedBytes => Cached().Sum(archive => archive.Size);

    private async Task<EntryContent> ReadAsync(string archiveKey, int entryIndex, CancellationToken cancellationToken)
    {
        EvictIdle();
        if (_indexes.ContainsKey(archiveKey))
            return await ReadRangedAsync(archiveKey, entryIndex, cancellationToken);

        var loading = _archives.GetOrAdd(archiveKey, key => new Lazy<Task<CachedArchive?>>(() => LoadAsync(key)));
        CachedArchive? archive;
        try
        {
            archive = await loading.Value.WaitAsync(cancellationToken);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // A failed load is not remembered: the next read tries again.
            _archives.TryRemove(new KeyValuePair<string, Lazy<Task<CachedArchive?>>>(archiveKey, loading));
            throw;
        }

        if (archive is null)
        {
            // Too large to keep: drop the placeholder and read entries by range from now on.
            _archives.TryRemove(new KeyValuePair<string, Lazy<Task<CachedArchive?>>>(archiveKey, loading));
            return await ReadRangedAsync(archiveKey, entryIndex, cancellationToken);
        }

        return archive.Read(uploads, entryIndex, clock.GetUtcNow());
    }

    /// <summary>Not cancelled by the first reader's token: other readers may be waiting on the same load.</summary>
    private async Task<CachedArchive?> LoadAsync(string key)
    {
        var cancellationToken = CancellationToken.None;
        var size = await retry.ExecuteAsync(async token => await blobs.GetLengthAsync(key, token), cancellationToken);
        if (size > options.ArchiveCacheBytes)
            return null;

        var bytes = await retry.ReadRangeAsync(blobs, key, 0, size, cancellationToken);
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

    private async Task<EntryContent> ReadRangedAsync(string archiveKey, int entryIndex, CancellationToken cancellationToken)
    {
        if (_indexes.Count >= MaxIndexes && !_indexes.ContainsKey(archiveKey))
            _indexes.Clear();

        var loading = _indexes.GetOrAdd(archiveKey, key => new Lazy<Task<ZipIndex?>>(() => IndexAsync(key)));
        ZipIndex? index;
        try
        {
            index = await loading.Value.WaitAsync(cancellationToken);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            _indexes.TryRemove(new KeyValuePair<string, Lazy<Task<ZipIndex?>>>(archiveKey, loading));
            throw;
        }

        if (index is null)
            return await ReadWholeAsync(archiveKey, entryIndex, cancellationToken);
        if (entryIndex < 0 || entryIndex >= index.Entries.Count)
            return new EntryContent(null, new FileError(FileErrorKind.Unavailable, string.Create(CultureInfo.InvariantCulture, $"The archive has no entry #{entryIndex}.")));

        var single = await index.EntryArchiveAsync(entryIndex, (offset, length, token) => retry.ReadRangeAsync(blobs, archiveKey, offset, length, token).AsTask(), cancellationToken);
        if (single is null)
            return await ReadWholeAsync(archiveKey, entryIndex, cancellationToken);

        // A one-entry ZIP of its own: the same reader, with the same checks, as for any archive.
        using var stream = new MemoryStream(single, writable: false);
        return uploads.ReadEntry(stream, 0);
    }

    /// <summary>Not cancelled by the first reader's token: other readers may be waiting on the same directory.</summary>
    private async Task<ZipIndex?> IndexAsync(string key)
    {
        var cancellationToken = CancellationToken.None;
        var size = await retry.ExecuteAsync(async token => await blobs.GetLengthAsync(key, token), cancellationToken);
        return await ZipIndex.ReadAsync(size, MaxDirectoryBytes, (offset, length, token) => retry.ReadRangeAsync(blobs, key, offset, length, token).AsTask(), cancellationToken);
    }

    /// <summary>
    /// An archive the ranged reader does not understand (no readable end record): read whole, as every archive once
    /// was, so that the ZIP reader names the damage in the entry's Error.
    /// </summary>
    private async Task<EntryContent> ReadWholeAsync(string archiveKey, int entryIndex, CancellationToken cancellationToken)
    {
        var size = await retry.ExecuteAsync(async token => await blobs.GetLengthAsync(archiveKey, token), cancellationToken);
        var bytes = await retry.ReadRangeAsync(blobs, archiveKey, 0, size, cancellationToken);
        using var stream = new MemoryStream(bytes, writable: false);
        return uploads.ReadEntry(stream, entryIndex);
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
