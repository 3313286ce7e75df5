using System.Text;
using Amazon.S3.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.ScanSessions.Fetching;
using Sagas.Storage;
using Sagas.Storage.Content;
using Sagas.Storage.S3;

namespace Sagas.Integration.Tests.Storage;

[Collection(FauxqsCollection.Name)]
public sealed class When_a_scan_reads_an_S3_prefix(FauxqsEmulator emulator) : IAsyncLifetime
{
    private readonly string _bucket = "scan-" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _contentRoot = Path.Combine(Path.GetTempPath(), "sagas-s3-scan-" + Guid.NewGuid().ToString("N"));
    private ServiceProvider? _services;

    private ServiceProvider Services => _services!;

    public async Task InitializeAsync()
    {
        if (emulator.ServiceUrl is null)
            return;
        _services = Build(maxObjects: 1000);
        var client = Services.GetRequiredService<S3ClientFactory>().GetClient();
        await client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket });
        for (var i = 0; i < 12; i++)
            await Put(client, $"site-a/drawing-{i:00}.txt", $"HOLE-{i}");
        await Put(client, "site-a/", "");
        await Put(client, "site-a/big.bin", new string('x', 2048));
        await Put(client, "site-b/other.txt", "HOLE-99");
    }

    public async Task DisposeAsync()
    {
        if (_services is not null)
            await _services.DisposeAsync();
        if (Directory.Exists(_contentRoot))
            Directory.Delete(_contentRoot, recursive: true);
    }

    [FauxqsFact]
    public async Task Should_expand_the_prefix_into_one_reference_per_object()
    {
        Assert.True(S3Prefix.TryParse($"s3://{_bucket}/site-a/", out var location, out _));

        var listing = await Services.GetRequiredService<S3PrefixLister>().ListAsync(location);

        var objects = Assert.IsAssignableFrom<IReadOnlyList<ListedS3Object>>(listing.Value);
        Assert.Equal(13, objects.Count);
        Assert.DoesNotContain(objects, o => o.Reference.Key.EndsWith('/'));
        Assert.All(objects, o => Assert.Equal(_bucket, o.Reference.Bucket));
        Assert.Contains(objects, o => o.Reference.Key == "site-a/big.bin" && o.Size == 2048);
    }

    [FauxqsFact]
    public async Task Should_fetch_each_listed_object_under_the_size_limit()
    {
        Assert.True(S3Prefix.TryParse($"s3://{_bucket}/site-a/", out var location, out _));
        var fetcher = Services.GetRequiredService<IScanFileFetcher>();

        var results = new List<FetchResult<FetchedFile>>();
        foreach (var item in (await Services.GetRequiredService<S3PrefixLister>().ListAsync(location)).Value!)
            results.Add(await fetcher.FetchAsync(item.Reference));

        var fetched = results.Where(r => r.Succeeded).Select(r => r.Value!).ToList();
        Assert.Equal(12, fetched.Count);
        Assert.Contains(fetched, f => f.Name == "drawing-07.txt" && Encoding.UTF8.GetString(f.Content.Span) == "HOLE-7" && f.Link == $"s3://{_bucket}/site-a/drawing-07.txt");
        Assert.Equal(FetchFailureKind.TooLarge, Assert.Single(results, r => !r.Succeeded).Failure!.Kind);
    }

    [FauxqsFact]
    public async Task Should_report_a_missing_object_or_bucket_per_file()
    {
        var fetcher = Services.GetRequiredService<IScanFileFetcher>();

        var missingKey = await fetcher.FetchAsync(new S3ObjectReference(_bucket, "site-a/nope.pdf"));
        var missingBucket = await fetcher.FetchAsync(new S3ObjectReference("no-such-bucket-" + Guid.NewGuid().ToString("N")[..8], "a.pdf"));

        Assert.Equal(FetchFailureKind.NotFound, missingKey.Failure?.Kind);
        Assert.Equal(FetchFailureKind.NotFound, missingBucket.Failure?.Kind);
    }

    [FauxqsFact]
    public async Task Should_refuse_a_prefix_holding_more_objects_than_allowed()
    {
        await using var limited = Build(maxObjects: 5);
        Assert.True(S3Prefix.TryParse($"s3://{_bucket}/site-a/", out var location, out _));

        var listing = await limited.GetRequiredService<S3PrefixLister>().ListAsync(location);

        Assert.Equal(FetchFailureKind.TooLarge, listing.Failure?.Kind);
        Assert.Contains("more than 5 objects", listing.Failure!.Reason, StringComparison.Ordinal);
    }

    private ServiceProvider Build(int maxObjects)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:Local:SigningKey"] = new string('s', 32),
            ["Storage:S3:ServiceUrl"] = emulator.RequireServiceUrl().ToString(),
            ["Storage:S3:ForcePathStyle"] = "true",
            ["Storage:S3:AccessKeyId"] = "test",
            ["Storage:S3:SecretAccessKey"] = "test",
            ["ScanSessions:Fetching:MaxFileBytes"] = "1024",
            ["ScanSessions:Fetching:MaxS3Objects"] = maxObjects.ToString(),
        }).Build();
        return new ServiceCollection()
            .AddSagasBlobStore(configuration, _contentRoot)
            .AddScanFileFetching(configuration)
            .BuildServiceProvider();
    }

    private async Task Put(Amazon.S3.IAmazonS3 client, string key, string content) =>
        await client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _bucket,
            Key = key,
            ContentBody = content,
            ContentType = "text/plain",
        });
}
