using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Components.Tests.Storage;
using Sagas.ScanSessions.Fetching;
using Sagas.ScanSessions.Fetching.GoogleDrive;
using Sagas.Storage;
using Sagas.Storage.Blobs;
using Sagas.Storage.Content;

namespace Sagas.Components.Tests.ScanSessions.Fetching;

public sealed class When_scan_files_are_fetched : IAsyncLifetime
{
    private const string DriveFileId = "1HoleScheduleFileId0000000000";

    private readonly TemporaryFolder _contentRoot = new();
    private HttpStub _stub = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _stub = await HttpStub.StartAsync(app =>
        {
            app.MapGet("/files/report.pdf", () => Results.Bytes("%PDF-HOLE-1"u8.ToArray(), "application/pdf"));
            app.MapGet("/download", (HttpContext context) =>
            {
                context.Response.Headers.ContentDisposition = "attachment; filename=\"HOLE-7 survey.txt\"";
                return Results.Text("HOLE-7", "text/plain");
            });
            app.MapGet("/missing", () => Results.NotFound());
            app.MapGet("/broken", () => Results.StatusCode(503));
            app.MapGet("/huge-declared", () => Results.Bytes(new byte[2048], "application/octet-stream"));
            app.MapGet("/huge-streamed", () => Results.Stream(async body =>
            {
                for (var i = 0; i < 4; i++)
                    await body.WriteAsync(new byte[512]);
            }, "application/octet-stream"));
            app.MapGet("/exactly-limit", () => Results.Bytes(new byte[1024], "application/octet-stream"));
            app.MapGet("/hang", async (HttpContext context) =>
            {
                await context.Response.StartAsync();
                await context.Response.Body.WriteAsync("partial"u8.ToArray());
                await context.Response.Body.FlushAsync();
                context.RequestAborted.WaitHandle.WaitOne();
            });
            app.MapGet("/to-file", () => Results.Redirect("file:///etc/passwd"));
            app.MapGet("/loop", () => Results.Redirect("/loop"));
            app.MapGet("/moved", () => Results.Redirect("/files/report.pdf"));
            app.MapGet("/drive/v3/files/{id}", (string id, HttpContext context) => context.Request.Query["alt"] == "media"
                ? Results.Text("HOLE-3 in a Drive file", "text/plain")
                : DriveResponses.Json(DriveResponses.Metadata(id, "drive.txt", "text/plain", 22)));
        });
        _services = Build();
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _stub.DisposeAsync();
        _contentRoot.Dispose();
    }

    private IScanFileFetcher Fetcher => _services.GetRequiredService<IScanFileFetcher>();

    private Uri Url(string path) => new(_stub.BaseAddress, path);

    [Fact]
    public async Task Should_read_an_uploaded_file_from_the_blob_store()
    {
        await _services.GetRequiredService<IBlobStore>().PutAsync("uploads/s1/0001", new MemoryStream("HOLE-1 text"u8.ToArray()), "text/plain");

        var result = await Fetcher.FetchAsync(new UploadedBlobReference("uploads/s1/0001", "notes.txt"));

        var file = Assert.IsType<FetchedFile>(result.Value);
        Assert.Equal("notes.txt", file.Name);
        Assert.Equal("text/plain", file.ContentType);
        using var reader = new StreamReader(file.OpenRead());
        Assert.Equal("HOLE-1 text", await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task Should_report_a_missing_or_invalid_or_oversized_upload()
    {
        await _services.GetRequiredService<IBlobStore>().PutAsync("uploads/big", new MemoryStream(new byte[1025]), "application/pdf");

        var missing = await Fetcher.FetchAsync(new UploadedBlobReference("uploads/gone", "gone.pdf"));
        var invalid = await Fetcher.FetchAsync(new UploadedBlobReference("../../etc/passwd"));
        var big = await Fetcher.FetchAsync(new UploadedBlobReference("uploads/big", "big.pdf"));

        Assert.Equal(FetchFailureKind.NotFound, missing.Failure?.Kind);
        Assert.Contains("gone.pdf", missing.Failure!.Reason, StringComparison.Ordinal);
        Assert.Equal(FetchFailureKind.InvalidReference, invalid.Failure?.Kind);
        Assert.Equal(FetchFailureKind.TooLarge, big.Failure?.Kind);
        Assert.Contains("1 KiB", big.Failure!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_read_a_Drive_file_with_the_users_token()
    {
        var reference = new DriveFileReference(DriveFileId, DriveResponses.Token);

        var result = await Fetcher.FetchAsync(reference);

        Assert.Equal("HOLE-3 in a Drive file", Encoding.UTF8.GetString(result.Value!.Content.Span));
        Assert.Equal($"https://drive.google.com/file/d/{DriveFileId}/view?usp=drivesdk", result.Value.Link);
        Assert.All(_stub.Requests, request => Assert.Equal($"Bearer {DriveResponses.Token}", request.Headers["Authorization"]));
        Assert.DoesNotContain(DriveResponses.Token, reference.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_read_a_url_and_name_it_from_its_path()
    {
        var result = await Fetcher.FetchAsync(new UrlReference(Url("/files/report.pdf?token=abc")));

        var file = Assert.IsType<FetchedFile>(result.Value);
        Assert.Equal("report.pdf", file.Name);
        Assert.Equal("application/pdf", file.ContentType);
        Assert.Equal("%PDF-HOLE-1", Encoding.ASCII.GetString(file.Content.Span));
    }

    [Fact]
    public async Task Should_prefer_the_servers_file_name_and_follow_redirects()
    {
        var named = await Fetcher.FetchAsync(new UrlReference(Url("/download")));
        var moved = await Fetcher.FetchAsync(new UrlReference(Url("/moved")));

        Assert.Equal("HOLE-7 survey.txt", named.Value?.Name);
        Assert.Equal("report.pdf", moved.Value?.Name);
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://example.com/a.pdf")]
    [InlineData("gopher://example.com/")]
    [InlineData("https://user:secret@example.com/a.pdf")]
    public async Task Should_refuse_links_that_are_not_plain_http(string link)
    {
        var result = await Fetcher.FetchAsync(new UrlReference(new Uri(link)));

        Assert.Equal(FetchFailureKind.InvalidReference, result.Failure?.Kind);
        Assert.Empty(_stub.Requests);
    }

    [Fact]
    public async Task Should_not_follow_a_redirect_to_another_scheme_or_a_loop()
    {
        var toFile = await Fetcher.FetchAsync(new UrlReference(Url("/to-file")));
        var loop = await Fetcher.FetchAsync(new UrlReference(Url("/loop")));

        Assert.Equal(FetchFailureKind.Failed, toFile.Failure?.Kind);
        Assert.Contains("redirects", toFile.Failure!.Reason, StringComparison.Ordinal);
        Assert.Equal(FetchFailureKind.Failed, loop.Failure?.Kind);
        Assert.Equal(4, _stub.Count("GET", "/loop"));
    }

    [Fact]
    public async Task Should_map_http_errors_and_retry_only_transient_ones()
    {
        var missing = await Fetcher.FetchAsync(new UrlReference(Url("/missing")));
        var broken = await Fetcher.FetchAsync(new UrlReference(Url("/broken")));

        Assert.Equal(FetchFailureKind.NotFound, missing.Failure?.Kind);
        Assert.False(missing.Failure!.Retryable);
        Assert.Equal(1, _stub.Count("GET", "/missing"));
        Assert.Equal(FetchFailureKind.Unavailable, broken.Failure?.Kind);
        Assert.True(broken.Failure!.Retryable);
        Assert.Equal(3, _stub.Count("GET", "/broken"));
    }

    [Fact]
    public async Task Should_enforce_the_size_limit_on_declared_and_streamed_bodies()
    {
        var declared = await Fetcher.FetchAsync(new UrlReference(Url("/huge-declared")));
        var streamed = await Fetcher.FetchAsync(new UrlReference(Url("/huge-streamed")));
        var exact = await Fetcher.FetchAsync(new UrlReference(Url("/exactly-limit")));

        Assert.Equal(FetchFailureKind.TooLarge, declared.Failure?.Kind);
        Assert.Equal(FetchFailureKind.TooLarge, streamed.Failure?.Kind);
        Assert.Equal(1024, exact.Value?.Length);
    }

    [Fact]
    public async Task Should_time_out_a_server_that_stops_sending()
    {
        await using var impatient = Build(("ScanSessions:Fetching:Timeout", "00:00:00.500"));

        var result = await impatient.GetRequiredService<IScanFileFetcher>().FetchAsync(new UrlReference(Url("/hang")));

        Assert.Equal(FetchFailureKind.Timeout, result.Failure?.Kind);
        Assert.True(result.Failure!.Retryable);
    }

    [Fact]
    public async Task Should_return_to_the_caller_when_the_caller_cancels()
    {
        using var cancellation = new CancellationTokenSource();
        var fetch = Fetcher.FetchAsync(new UrlReference(Url("/hang")), cancellation.Token);
        while (_stub.Count("GET", "/hang") == 0)
            await Task.Yield();
        cancellation.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fetch);
    }

    [Fact]
    public async Task Should_refuse_private_addresses_unless_allowed()
    {
        await using var guarded = Build(("ScanSessions:Fetching:AllowPrivateNetworks", "false"));
        var fetcher = guarded.GetRequiredService<IScanFileFetcher>();

        var byAddress = await fetcher.FetchAsync(new UrlReference(Url("/files/report.pdf")));
        var byName = await fetcher.FetchAsync(new UrlReference(new Uri($"http://localhost:{_stub.BaseAddress.Port}/files/report.pdf")));
        var metadata = await fetcher.FetchAsync(new UrlReference(new Uri("http://169.254.169.254/latest/meta-data/")));

        Assert.Equal(FetchFailureKind.Forbidden, byAddress.Failure?.Kind);
        Assert.Contains("private or internal", byAddress.Failure!.Reason, StringComparison.Ordinal);
        Assert.Equal(FetchFailureKind.Forbidden, byName.Failure?.Kind);
        Assert.Equal(FetchFailureKind.Forbidden, metadata.Failure?.Kind);
        Assert.Empty(_stub.Requests);
    }

    [Fact]
    public async Task Should_report_S3_sources_as_failed_when_S3_is_not_configured()
    {
        var result = await Fetcher.FetchAsync(new S3ObjectReference("drawings", "site-a/plan.pdf"));

        Assert.Equal(FetchFailureKind.Failed, result.Failure?.Kind);
        Assert.Contains("Storage:S3:Region", result.Failure!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_refuse_buckets_outside_the_allow_list()
    {
        await using var limited = Build(("ScanSessions:Fetching:AllowedS3Buckets:0", "drawings"));

        var result = await limited.GetRequiredService<IScanFileFetcher>().FetchAsync(new S3ObjectReference("reports", "secret.xlsx"));
        var listing = await limited.GetRequiredService<S3PrefixLister>().ListAsync(new S3Prefix("reports", ""));

        Assert.Equal(FetchFailureKind.Forbidden, result.Failure?.Kind);
        Assert.Equal(FetchFailureKind.Forbidden, listing.Failure?.Kind);
    }

    private ServiceProvider Build(params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Local:SigningKey"] = new string('s', 32),
            ["ScanSessions:Drive:BaseUrl"] = _stub.BaseAddress.ToString(),
            ["ScanSessions:Drive:RetryBaseDelay"] = "00:00:00.010",
            ["ScanSessions:Fetching:MaxFileBytes"] = "1024",
            // Generous: this machine is shared; only the timeout test shortens it.
            ["ScanSessions:Fetching:Timeout"] = "00:00:30",
            ["ScanSessions:Fetching:MaxRedirects"] = "3",
            ["ScanSessions:Fetching:AllowPrivateNetworks"] = "true",
            ["ScanSessions:Fetching:UrlRetryBaseDelay"] = "00:00:00.010",
        };
        foreach (var (key, value) in overrides)
            settings[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        // Registered twice on purpose: feature registrations may overlap and must stay idempotent.
        return new ServiceCollection()
            .AddSagasBlobStore(configuration, _contentRoot.Path)
            .AddGoogleDriveClient(configuration)
            .AddScanFileFetching(configuration)
            .AddScanFileFetching(configuration)
            .BuildServiceProvider();
    }
}

public sealed class When_addresses_are_checked_before_connecting
{
    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.16.0.1", false)]
    [InlineData("172.31.255.255", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("::ffff:127.0.0.1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    [InlineData("fe80::1%2", false)]
    [InlineData("fec0::1", false)]
    [InlineData("2001:db8::1", false)]
    [InlineData("100::1", false)]
    [InlineData("203.0.113.7", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("8.8.8.8", true)]
    [InlineData("172.32.0.1", true)]
    [InlineData("2001:4860:4860::8888", true)]
    public void Should_allow_only_public_addresses(string address, bool expected) =>
        Assert.Equal(expected, PrivateNetworkGuard.IsPublic(IPAddress.Parse(address)));

    /// <summary>IPv6 forms a translator or tunnel turns into an IPv4 address are judged by that address.</summary>
    [Theory]
    [InlineData("64:ff9b::a00:1", false)] // NAT64 of 10.0.0.1
    [InlineData("64:ff9b::7f00:1", false)] // NAT64 of 127.0.0.1
    [InlineData("64:ff9b::a9fe:a9fe", false)] // NAT64 of 169.254.169.254
    [InlineData("64:ff9b::c0a8:101", false)] // NAT64 of 192.168.1.1
    [InlineData("64:ff9b:1::a00:1", false)] // local-use NAT64 prefix
    [InlineData("2002:a00:1::1", false)] // 6to4 of 10.0.0.1
    [InlineData("2002:ac10:1::", false)] // 6to4 of 172.16.0.1
    [InlineData("2002:a9fe:a9fe:1::1", false)] // 6to4 of 169.254.169.254
    [InlineData("2001:0:4136:e378:8000:63bf:f5ff:fffe", false)] // Teredo, client 10.0.0.1
    [InlineData("2001:0:4136:e378:8000:63bf:80ff:fffe", false)] // Teredo, client 127.0.0.1
    [InlineData("2001:0:a00:1:8000:63bf:f7f7:f7f7", false)] // Teredo, server 10.0.0.1
    [InlineData("::a00:1", false)] // IPv4-compatible 10.0.0.1
    [InlineData("64:ff9b::808:808", true)] // NAT64 of 8.8.8.8
    [InlineData("2002:808:808::1", true)] // 6to4 of 8.8.8.8
    [InlineData("2001:0:4136:e378:8000:63bf:f7f7:f7f7", true)] // Teredo, client 8.8.8.8
    public void Should_judge_an_embedded_ipv4_address_by_where_it_leads(string address, bool expected) =>
        Assert.Equal(expected, PrivateNetworkGuard.IsPublic(IPAddress.Parse(address)));
}

public sealed class When_an_S3_source_is_parsed
{
    [Theory]
    [InlineData("s3://drawings/site-a/", "drawings", "site-a/")]
    [InlineData("s3://drawings", "drawings", "")]
    [InlineData("S3://my.bucket-1/a/b.pdf", "my.bucket-1", "a/b.pdf")]
    public void Should_split_bucket_and_prefix(string value, string bucket, string prefix)
    {
        Assert.True(S3Prefix.TryParse(value, out var location, out var error), error);
        Assert.Equal(new S3Prefix(bucket, prefix), location);
    }

    [Theory]
    [InlineData("https://drawings.s3.amazonaws.com/a")]
    [InlineData("s3://")]
    [InlineData("s3://Upper/a")]
    [InlineData("s3://ab/a")]
    [InlineData("s3://bad_bucket/a")]
    [InlineData(null)]
    public void Should_refuse_anything_else(string? value)
    {
        Assert.False(S3Prefix.TryParse(value, out _, out var error));
        Assert.NotEmpty(error);
    }
}
