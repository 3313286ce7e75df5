using System.IO.Compression;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Sagas.Components.Tests.Storage;
using Sagas.ScanSessions;
using Sagas.ScanSessions.Fetching;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Sources;
using Sagas.Storage.Local;

namespace Sagas.Components.Tests.ScanSessions;

public sealed class When_a_worker_reads_entries_of_an_uploaded_archive : IDisposable
{
    private const string Key = "scan-uploads/s/upload-00000";
    private readonly TemporaryFolder _folder = new();
    private readonly LocalBlobStore _store;

    public When_a_worker_reads_entries_of_an_uploaded_archive() =>
        _store = new LocalBlobStore(Path.Combine(_folder.Path, "blobs"), new LocalBlobLinks(new byte[32], "https://sagas.example.com", TimeProvider.System));

    [Theory]
    [InlineData(128L * 1024 * 1024)]
    [InlineData(0L)]
    public async Task Should_give_each_entrys_bytes_whether_the_archive_is_kept_in_memory_or_not(long cacheBytes)
    {
        await _store.PutAsync(Key, new MemoryStream(Zip(40)), "application/zip");
        var cache = Cache(cacheBytes);

        var reads = await Task.WhenAll(Enumerable.Range(0, 40).Reverse().Select(i => cache.ReadEntryAsync(Key, i, CancellationToken.None)));

        Assert.All(reads.Reverse().Select((read, i) => (read, i)), x => Assert.Equal($"entry {x.i}", Encoding.UTF8.GetString(x.read.Content!)));
        Assert.Equal(cacheBytes > 0, cache.CachedBytes > 0);
    }

    [Fact]
    public async Task Should_report_a_missing_archive_and_an_unknown_entry_as_file_errors()
    {
        await _store.PutAsync(Key, new MemoryStream(Zip(2)), "application/zip");
        var cache = Cache(1024 * 1024);

        var missing = await cache.ReadEntryAsync("scan-uploads/s/gone", 0, CancellationToken.None);
        var unknown = await cache.ReadEntryAsync(Key, 7, CancellationToken.None);

        Assert.Equal(ScanArchiveCache.ArchiveGone, missing.Error?.Message);
        Assert.Equal(FileErrorKind.Unavailable, unknown.Error?.Kind);
    }

    [Fact]
    public async Task Should_keep_no_more_archives_than_its_byte_budget()
    {
        var zip = Zip(30);
        for (var i = 0; i < 5; i++)
            await _store.PutAsync($"{Key}-{i}", new MemoryStream(zip), "application/zip");
        var cache = Cache(zip.Length * 2);

        for (var i = 0; i < 5; i++)
            Assert.Null((await cache.ReadEntryAsync($"{Key}-{i}", 3, CancellationToken.None)).Error);

        Assert.InRange(cache.CachedBytes, zip.Length, zip.Length * 2);
    }

    [Fact]
    public async Task Should_let_an_archive_go_once_nobody_read_it_for_a_quarter_of_a_minute()
    {
        // A session's batches read its archive every few milliseconds; a finished session's archive is never read again,
        // and a worker running sessions back to back held each one for minutes (docs/performance.md, scan-session RSS).
        var zip = Zip(30);
        await _store.PutAsync($"{Key}-done", new MemoryStream(zip), "application/zip");
        await _store.PutAsync($"{Key}-next", new MemoryStream(zip), "application/zip");
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var cache = new ScanArchiveCache(_store, new UploadSource(new ScanFilesOptions()), new ScanSessionsOptions(), clock, new BlobReadRetry(new ScanFetchingOptions()));

        Assert.Null((await cache.ReadEntryAsync($"{Key}-done", 3, CancellationToken.None)).Error);
        clock.Advance(TimeSpan.FromSeconds(16));
        Assert.Null((await cache.ReadEntryAsync($"{Key}-next", 3, CancellationToken.None)).Error);

        Assert.Equal(zip.Length, cache.CachedBytes);
    }

    public void Dispose() => _folder.Dispose();

    private ScanArchiveCache Cache(long bytes) =>
        new(_store, new UploadSource(new ScanFilesOptions()), new ScanSessionsOptions { ArchiveCacheBytes = bytes }, TimeProvider.System, new BlobReadRetry(new ScanFetchingOptions()));

    private static byte[] Zip(int entries)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < entries; i++)
            {
                using var writer = new StreamWriter(archive.CreateEntry($"f{i}.txt").Open(), new UTF8Encoding(false));
                writer.Write($"entry {i}");
            }
        }

        return buffer.ToArray();
    }
}
