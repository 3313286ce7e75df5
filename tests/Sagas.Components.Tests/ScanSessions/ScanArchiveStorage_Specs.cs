using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Sagas.Components.Tests.Storage;
using Sagas.ScanSessions;
using Sagas.ScanSessions.Consumers;
using Sagas.ScanSessions.Fetching;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Sources;
using Sagas.Storage.Blobs;
using Sagas.Storage.Content;
using Sagas.Storage.Local;

namespace Sagas.Components.Tests.ScanSessions;

/// <summary>A blob store whose reads fail with a dropped connection while <see cref="Failures"/> lasts, and which counts what it hands out.</summary>
public sealed class FaultyBlobStore(IBlobStore inner) : IBlobStore
{
    private long _bytesRead;
    private int _failures;
    private int _reads;

    public int Failures
    {
        get => Volatile.Read(ref _failures);
        set => Volatile.Write(ref _failures, value);
    }

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public int Reads => Volatile.Read(ref _reads);

    public Task PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken = default) => inner.PutAsync(key, content, contentType, cancellationToken);

    public async Task<BlobContent> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        Fail();
        var blob = await inner.OpenReadAsync(key, cancellationToken);
        return new BlobContent(new Counting(blob.Content, this), blob.ContentType, blob.Length, blob.TotalLength);
    }

    public async Task<BlobContent> OpenReadRangeAsync(string key, long offset, long length, CancellationToken cancellationToken = default)
    {
        Fail();
        var blob = await inner.OpenReadRangeAsync(key, offset, length, cancellationToken);
        return new BlobContent(new Counting(blob.Content, this), blob.ContentType, blob.Length, blob.TotalLength);
    }

    public Task<long> GetLengthAsync(string key, CancellationToken cancellationToken = default)
    {
        Fail();
        return inner.GetLengthAsync(key, cancellationToken);
    }

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => inner.ExistsAsync(key, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

    public IAsyncEnumerable<BlobItem> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task<Uri> GetDownloadLinkAsync(string key, string fileName, TimeSpan? expiresIn = null, CancellationToken cancellationToken = default) =>
        inner.GetDownloadLinkAsync(key, fileName, expiresIn, cancellationToken);

    private void Fail()
    {
        Interlocked.Increment(ref _reads);
        if (Interlocked.Decrement(ref _failures) >= 0)
            throw new IOException("Connection reset by peer");
        Interlocked.Exchange(ref _failures, 0);
    }

    private sealed class Counting(Stream inner, FaultyBlobStore store) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => inner.CanSeek;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => Count(await inner.ReadAsync(buffer, cancellationToken));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }

        private int Count(int read)
        {
            Interlocked.Add(ref store._bytesRead, read);
            return read;
        }
    }
}

public sealed class When_the_blob_store_fails_or_holds_large_archives : IDisposable
{
    private const string Key = "scan-uploads/s/upload-00000";
    private readonly TemporaryFolder _folder = new();
    private readonly FaultyBlobStore _store;

    public When_the_blob_store_fails_or_holds_large_archives() =>
        _store = new FaultyBlobStore(new LocalBlobStore(Path.Combine(_folder.Path, "blobs"), new LocalBlobLinks(new byte[32], "https://sagas.example.com", TimeProvider.System)));

    [Theory]
    [InlineData(128L * 1024 * 1024)]
    [InlineData(0L)]
    public async Task Should_read_an_entry_through_transient_storage_errors(long cacheBytes)
    {
        var (zip, _) = Zip(10, 100);
        await _store.PutAsync(Key, new MemoryStream(zip), "application/zip");
        _store.Failures = 2;

        var read = await Cache(cacheBytes).ReadEntryAsync(Key, 3, CancellationToken.None);

        Assert.Null(read.Error);
        Assert.Equal(Content(3, 100), read.Content);
    }

    [Fact]
    public async Task Should_make_an_archive_that_stays_unreadable_a_transient_failure_of_the_file_not_an_error()
    {
        var (zip, _) = Zip(10, 100);
        await _store.PutAsync(Key, new MemoryStream(zip), "application/zip");
        _store.Failures = 1000;

        var failure = await Assert.ThrowsAsync<ScanFileUnavailableException>(() => Cache(0).ReadEntryAsync(Key, 3, CancellationToken.None));

        Assert.Contains("Connection reset by peer", failure.Message, StringComparison.Ordinal);
        Assert.Equal(3, _store.Reads);
    }

    [Fact]
    public async Task Should_read_an_uploaded_file_through_transient_storage_errors_and_call_one_that_stays_unreadable_retryable()
    {
        await _store.PutAsync("uploads/s/0001", new MemoryStream("HOLE-1"u8.ToArray()), "text/plain");
        var fetcher = new ScanFileFetcher(_store, null!, null!, null!, new ScanFetchingOptions(), Retry());

        _store.Failures = 2;
        var read = await fetcher.FetchAsync(new UploadedBlobReference("uploads/s/0001", "a.txt"));
        _store.Failures = 1000;
        var failed = await fetcher.FetchAsync(new UploadedBlobReference("uploads/s/0001", "a.txt"));

        Assert.Equal("HOLE-1", Encoding.UTF8.GetString(Assert.IsType<FetchedFile>(read.Value).Content.Span));
        Assert.True(failed.Failure?.Retryable, failed.Failure?.ToString());
    }

    [Fact]
    public async Task Should_read_each_entry_of_an_archive_larger_than_the_cache_by_range_not_the_whole_archive_each_time()
    {
        const int entries = 200;
        var (zip, directoryBytes) = Zip(entries, 4096);
        await _store.PutAsync(Key, new MemoryStream(zip), "application/zip");
        var cache = Cache(zip.Length / 2);

        var reads = await Task.WhenAll(Enumerable.Range(0, entries).Select(i => cache.ReadEntryAsync(Key, i, CancellationToken.None)));

        Assert.All(reads.Select((read, i) => (read, i)), x => Assert.Equal(Content(x.i, 4096), x.read.Content));
        // Each entry once (header, name and data) plus the directory and the tail searched for its end record; before:
        // the whole archive per entry, 200 times its size.
        Assert.InRange(_store.BytesRead, zip.Length, zip.Length + directoryBytes + 66_000 + (entries * 300L));
        Assert.Equal(0, cache.CachedBytes);
    }

    [Fact]
    public async Task Should_read_entries_of_a_zip64_archive_by_range()
    {
        var (zip, _) = Zip(5, 1000, zip64Offsets: true);
        await _store.PutAsync(Key, new MemoryStream(zip), "application/zip");

        var read = await Cache(0).ReadEntryAsync(Key, 4, CancellationToken.None);

        Assert.Null(read.Error);
        Assert.Equal(Content(4, 1000), read.Content);
    }

    public void Dispose() => _folder.Dispose();

    private static BlobReadRetry Retry() => new(new ScanFetchingOptions { UrlMaxRetries = 2, UrlRetryBaseDelay = TimeSpan.FromMilliseconds(1) });

    private ScanArchiveCache Cache(long bytes) =>
        new(_store, new UploadSource(new ScanFilesOptions()), new ScanSessionsOptions { ArchiveCacheBytes = bytes }, TimeProvider.System, Retry());

    /// <summary>Incompressible entries, so that the archive is as large as what is read from it.</summary>
    private static byte[] Content(int index, int size)
    {
        var bytes = new byte[size];
        new Random(index).NextBytes(bytes);
        Encoding.ASCII.GetBytes($"entry {index} ").CopyTo(bytes, 0);
        return bytes;
    }

    private static (byte[] Zip, long DirectoryBytes) Zip(int entries, int size, bool zip64Offsets = false)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < entries; i++)
            {
                using var stream = archive.CreateEntry($"folder/f{i}.bin", CompressionLevel.Fastest).Open();
                stream.Write(Content(i, size));
            }
        }

        var zip = buffer.ToArray();
        return (zip64Offsets ? ToZip64Offsets(zip) : zip, entries * 100L);
    }

    /// <summary>Rewrites each directory record to keep its local-header offset in a ZIP64 extra field, as archives past 4 GiB do.</summary>
    private static byte[] ToZip64Offsets(byte[] zip)
    {
        var end = zip.Length - 22;
        var count = BitConverter.ToUInt16(zip, end + 10);
        var directoryOffset = (int)BitConverter.ToUInt32(zip, end + 16);
        using var output = new MemoryStream();
        output.Write(zip, 0, directoryOffset);
        var position = directoryOffset;
        for (var i = 0; i < count; i++)
        {
            var nameLength = BitConverter.ToUInt16(zip, position + 28);
            var extraLength = BitConverter.ToUInt16(zip, position + 30);
            var commentLength = BitConverter.ToUInt16(zip, position + 32);
            var offset = BitConverter.ToUInt32(zip, position + 42);
            var header = zip.AsSpan(position, 46).ToArray();
            BitConverter.GetBytes((ushort)(extraLength + 12)).CopyTo(header, 30);
            BitConverter.GetBytes(uint.MaxValue).CopyTo(header, 42);
            output.Write(header);
            output.Write(zip, position + 46, nameLength + extraLength);
            output.Write(BitConverter.GetBytes((ushort)1));
            output.Write(BitConverter.GetBytes((ushort)8));
            output.Write(BitConverter.GetBytes((long)offset));
            output.Write(zip, position + 46 + nameLength + extraLength, commentLength);
            position += 46 + nameLength + extraLength + commentLength;
        }

        var directorySize = (int)output.Length - directoryOffset;
        var tail = zip.AsSpan(end, 22).ToArray();
        BitConverter.GetBytes((uint)directorySize).CopyTo(tail, 12);
        output.Write(tail);
        return output.ToArray();
    }
}
