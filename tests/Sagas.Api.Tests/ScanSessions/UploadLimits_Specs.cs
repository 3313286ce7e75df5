using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;

namespace Sagas.Api.Tests.ScanSessions;

/// <summary>
/// The scan API on real Kestrel (the in-memory TestServer enforces no body limit), with a per-file limit below the
/// upload limit, so that a single file can be too large while the upload as a whole is not.
/// </summary>
public sealed class KestrelScanSessionsApi : ScanSessionsApi
{
    public const int MaxFileBytes = 50_000;

    public KestrelScanSessionsApi()
    {
        UseKestrel(0);
        StartServer();
    }

    protected override void ConfigureMore(IWebHostBuilder builder)
    {
        builder.UseSetting("ScanSessions:Files:MaxFileBytes", MaxFileBytes.ToString(global::System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("ScanSessions:Fetching:MaxFileBytes", "60000");
    }
}

/// <summary>What would fail later is refused when it arrives, with a status and a sentence naming the limit.</summary>
public sealed class When_a_scan_upload_is_over_a_limit(KestrelScanSessionsApi api) : IClassFixture<KestrelScanSessionsApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Should_answer_413_naming_the_limit_for_a_body_over_it(bool declaredLength)
    {
        // Generated, never held in memory: the way a 700 MB upload arrives, only smaller than that.
        var length = (ScanSessionsApi.MaxUploadBytes * 4L) + (2 * 1024 * 1024);
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("EB-1"), "targetHoleCodes");
        var file = new StreamContent(new GeneratedStream(length));
        file.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        form.Add(file, "files", "drawings.zip");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/scan-sessions") { Content = form };
        if (!declaredLength)
            request.Headers.TransferEncodingChunked = true;

        using var response = await _client.SendAsync(request);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.RequestEntityTooLarge, $"answered {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString();
        Assert.Contains("ScanSessions:Files:MaxUploadBytes", detail, StringComparison.Ordinal);
        Assert.Contains("200000", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_answer_413_for_a_single_file_over_the_per_file_limit_and_store_nothing()
    {
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("EB-1"), "targetHoleCodes");
        form.Add(new ByteArrayContent(new byte[KestrelScanSessionsApi.MaxFileBytes + 1]), "files", "sheet.pdf");
        var before = StoredUploads();

        using var response = await _client.PostAsync(new Uri("/api/scan-sessions", UriKind.Relative), form);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.RequestEntityTooLarge, $"answered {(int)response.StatusCode}: {body}");
        var detail = JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString();
        Assert.Contains("sheet.pdf", detail, StringComparison.Ordinal);
        Assert.Contains("ScanSessions:Files:MaxFileBytes", detail, StringComparison.Ordinal);
        Assert.Equal(before, StoredUploads());
    }

    [Fact]
    public async Task Should_still_take_a_zip_larger_than_the_per_file_limit()
    {
        // An archive is many files: only its entries are held to the per-file limit, when the session lists them.
        var zip = ScanFixtures.Zip(800);
        Assert.True(zip.Length > KestrelScanSessionsApi.MaxFileBytes, $"the archive ({zip.Length} bytes) should be larger than the per-file limit");
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("EB-1"), "targetHoleCodes");
        form.Add(new ByteArrayContent(zip), "files", "drawings.zip");

        using var response = await _client.PostAsync(new Uri("/api/scan-sessions", UriKind.Relative), form);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task Should_answer_400_for_an_s3_prefix_when_s3_is_not_configured()
    {
        using var response = await _client.PostAsJsonAsync("/api/scan-sessions", new { targetHoleCodes = new[] { "EB-1" }, s3Prefix = "s3://drawings/site-a/" });

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"answered {(int)response.StatusCode}: {body}");
        var detail = JsonDocument.Parse(body).RootElement.GetProperty("errors").GetProperty("s3Prefix")[0].GetString();
        Assert.Contains("Storage:S3", detail, StringComparison.Ordinal);
    }

    private int StoredUploads() =>
        Directory.Exists(Path.Combine(api.BlobRoot, "scan-uploads"))
            ? Directory.GetFiles(Path.Combine(api.BlobRoot, "scan-uploads"), "*", SearchOption.AllDirectories).Length
            : 0;

    /// <summary>A read-only stream of <c>length</c> bytes made up as they are read.</summary>
    private sealed class GeneratedStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            Array.Fill(buffer, (byte)'x', offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
