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
