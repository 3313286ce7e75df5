using System.Net;
using System.Text;
using Amazon.S3.Model;
using Microsoft.AspNetCore.WebUtilities;
using Sagas.Storage;
using Sagas.Storage.Blobs;
using Sagas.Storage.S3;

namespace Sagas.Integration.Tests.Storage;

[Collection(FauxqsCollection.Name)]
public sealed class When_blobs_are_kept_in_an_S3_bucket(FauxqsEmulator emulator) : IAsyncLifetime
{
    private readonly string _bucket = "sagas-" + Guid.NewGuid().ToString("N")[..12];
    private S3ClientFactory? _clients;
    private S3BlobStore? _store;

    private S3BlobStore Store => _store!;

    public async Task InitializeAsync()
    {
        if (emulator.ServiceUrl is null)
            return;
        _clients = new S3ClientFactory(Options(emulator.ServiceUrl));
        await _clients.GetClient().PutBucketAsync(new PutBucketRequest { BucketName = _bucket });
        _store = new S3BlobStore(_clients, _bucket, "sagas/", TimeProvider.System);
    }

    public Task DisposeAsync()
    {
        _clients?.Dispose();
        return Task.CompletedTask;
    }

    [FauxqsFact]
    public async Task Should_read_back_what_was_put_with_its_content_type()
    {
        await Store.PutAsync("sessions/1/report.xlsx", Bytes("workbook bytes"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");

        await using var blob = await Store.OpenReadAsync("sessions/1/report.xlsx");

        Assert.Equal("workbook bytes", await ReadAsync(blob.Content));
        Assert.Equal("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", blob.ContentType);
        Assert.Equal(14, blob.Length);
    }

    [FauxqsFact]
    public async Task Should_keep_blobs_under_the_key_prefix()
    {
        await Store.PutAsync("a.txt", Bytes("a"), "text/plain");

        var objects = await _clients!.GetClient().ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket });

        Assert.Equal(["sagas/a.txt"], objects.S3Objects!.Select(o => o.Key));
    }

    [FauxqsFact]
    public async Task Should_list_by_prefix_with_sizes_across_pages()
    {
        for (var i = 0; i < 7; i++)
            await Store.PutAsync($"uploads/s1/file-{i}.txt", Bytes(new string('x', i + 1)), "text/plain");
        await Store.PutAsync("uploads/s10/other.txt", Bytes("other"), "text/plain");

        var pagedStore = new PagedListing(_clients!, _bucket);
        var items = await ListAsync(Store, "uploads/s1/");
        var paged = await pagedStore.ListAsync("sagas/uploads/s1/", pageSize: 3);

        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"uploads/s1/file-{i}.txt:{i + 1}"), items);
        Assert.Equal(7, paged);
        Assert.Equal(8, (await ListAsync(Store, "uploads/s1")).Count);
    }

    [FauxqsFact]
    public async Task Should_report_existence_and_delete_idempotently()
    {
        await Store.PutAsync("x/y.bin", Bytes("y"), "application/octet-stream");
        Assert.True(await Store.ExistsAsync("x/y.bin"));

        await Store.DeleteAsync("x/y.bin");
        await Store.DeleteAsync("x/y.bin");

        Assert.False(await Store.ExistsAsync("x/y.bin"));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.OpenReadAsync("x/y.bin"));
    }

    [FauxqsFact]
    public async Task Should_refuse_keys_a_local_store_would_refuse()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.PutAsync("../escape.txt", Bytes("x"), "text/plain"));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.OpenReadAsync("a//b"));
    }

    [FauxqsFact]
    public async Task Should_give_a_presigned_link_a_plain_HTTP_client_can_download()
    {
        await Store.PutAsync("reports/session-9.xlsx", Bytes("report content"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");

        var link = await Store.GetDownloadLinkAsync("reports/session-9.xlsx", "Scan report 9.xlsx");
        using var http = new HttpClient();
        using var response = await http.GetAsync(link);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("report content", await response.Content.ReadAsStringAsync());
        Assert.Equal("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(emulator.ServiceUrl!.Authority, link.Authority);
        Assert.Equal($"/{_bucket}/sagas/reports/session-9.xlsx", link.AbsolutePath);
        var query = QueryHelpers.ParseQuery(link.Query);
        // The SDK measures expiry from its own signing instant, which can round to the next second.
        Assert.InRange(int.Parse(query["X-Amz-Expires"].ToString()), 3590, 3601);
        Assert.Contains("Scan report 9.xlsx", query["response-content-disposition"].ToString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(query["X-Amz-Signature"]));
    }

    [FauxqsFact]
    public async Task Should_read_a_range_and_the_length_of_a_blob()
    {
        await Store.PutAsync("ranges/a.bin", Bytes("0123456789abcdef"), "application/octet-stream");

        await using var middle = await Store.OpenReadRangeAsync("ranges/a.bin", 4, 6);
        await using var pastTheEnd = await Store.OpenReadRangeAsync("ranges/a.bin", 12, 100);

        Assert.Equal("456789", await ReadAsync(middle.Content));
        Assert.Equal((6L, 16L), (middle.Length, middle.TotalLength));
        Assert.Equal("cdef", await ReadAsync(pastTheEnd.Content));
        Assert.Equal(16, await Store.GetLengthAsync("ranges/a.bin"));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.GetLengthAsync("ranges/missing.bin"));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.OpenReadRangeAsync("ranges/missing.bin", 0, 10));
    }

    [FauxqsFact]
    public async Task Should_read_entries_of_an_archive_larger_than_the_cache_by_range()
    {
        using var zip = new MemoryStream();
        using (var archive = new System.IO.Compression.ZipArchive(zip, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < 30; i++)
            {
                await using var writer = new StreamWriter(archive.CreateEntry($"f{i}.txt").Open());
                await writer.WriteAsync($"entry {i} " + new string('x', 500));
            }
        }

        await Store.PutAsync("ranges/archive.zip", new MemoryStream(zip.ToArray()), "application/zip");
        var cache = new Sagas.ScanSessions.Sources.ScanArchiveCache(
            Store,
            new Sagas.ScanSessions.Sources.UploadSource(new Sagas.ScanSessions.Files.ScanFilesOptions()),
            new Sagas.ScanSessions.ScanSessionsOptions { ArchiveCacheBytes = 0 },
            TimeProvider.System,
            new Sagas.ScanSessions.Fetching.BlobReadRetry(new Sagas.ScanSessions.Fetching.ScanFetchingOptions()));

        var reads = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => cache.ReadEntryAsync("ranges/archive.zip", i, CancellationToken.None)));

        Assert.All(reads.Select((read, i) => (read, i)), x => Assert.StartsWith($"entry {x.i} ", Encoding.UTF8.GetString(x.read.Content!), StringComparison.Ordinal));
    }

    [FauxqsFact]
    public async Task Should_store_an_upload_from_a_stream_that_cannot_seek()
    {
        var content = new byte[(2 * S3BlobStore.PartBytes) + 12345];
        new Random(7).NextBytes(content);

        await Store.PutAsync("uploads/streamed.bin", new ForwardOnly(new MemoryStream(content)), "application/octet-stream");

        await using var blob = await Store.OpenReadAsync("uploads/streamed.bin");
        using var copy = new MemoryStream();
        await blob.Content.CopyToAsync(copy);
        Assert.Equal(content, copy.ToArray());
        await Store.PutAsync("uploads/small.bin", new ForwardOnly(Bytes("small")), "text/plain");
        await using var small = await Store.OpenReadAsync("uploads/small.bin");
        Assert.Equal("small", await ReadAsync(small.Content));
    }

    /// <summary>A request body as the API reads it: forward only, length unknown.</summary>
    private sealed class ForwardOnly(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static S3StorageOptions Options(Uri serviceUrl) => new()
    {
        ServiceUrl = serviceUrl.ToString(),
        ForcePathStyle = true,
        Region = "us-east-1",
        AccessKeyId = "test",
        SecretAccessKey = "test",
    };

    private static async Task<List<string>> ListAsync(IBlobStore store, string prefix)
    {
        var items = new List<string>();
        await foreach (var item in store.ListAsync(prefix))
            items.Add($"{item.Key}:{item.Size}");
        return items;
    }

    private static MemoryStream Bytes(string text) => new(Encoding.UTF8.GetBytes(text));

    private static async Task<string> ReadAsync(Stream stream)
    {
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    /// <summary>Proves the emulator pages (MaxKeys) the way the store's continuation loop expects.</summary>
    private sealed class PagedListing(S3ClientFactory clients, string bucket)
    {
        public async Task<int> ListAsync(string prefix, int pageSize)
        {
            var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix, MaxKeys = pageSize };
            var count = 0;
            var pages = 0;
            do
            {
                var response = await clients.GetClient().ListObjectsV2Async(request);
                count += response.S3Objects?.Count ?? 0;
                pages++;
                request.ContinuationToken = response.IsTruncated == true ? response.NextContinuationToken : null;
            }
            while (request.ContinuationToken is not null);

            Assert.True(pages >= 3);
            return count;
        }
    }
}
