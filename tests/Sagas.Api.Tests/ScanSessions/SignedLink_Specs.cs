using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Sagas.Storage.Blobs;
using Sagas.Storage.Local;

namespace Sagas.Api.Tests.ScanSessions;

public sealed class When_a_signed_download_link_is_followed(ScanSessionsApi api) : IClassFixture<ScanSessionsApi>
{
    private const string Key = "specs/links/report.xlsx";

    [Fact]
    public async Task Should_serve_a_valid_link_without_credentials()
    {
        var link = await StoreAndLinkAsync();
        using var client = api.CreateClient();

        using var response = await client.GetAsync(link);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("workbook bytes", await response.Content.ReadAsStringAsync());
        Assert.Equal("report.xlsx", response.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
    }

    [Theory]
    [InlineData("sig=", "sig=A")]
    [InlineData("name=report.xlsx", "name=other.xlsx")]
    [InlineData("expires=", "expires=9")]
    public async Task Should_answer_403_for_a_tampered_link(string part, string replacement)
    {
        var link = (await StoreAndLinkAsync()).OriginalString;
        var tampered = link.Replace(part, replacement, StringComparison.Ordinal);
        Assert.NotEqual(link, tampered);
        using var client = api.CreateClient();

        using var response = await client.GetAsync(new Uri(tampered, UriKind.Relative));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Should_answer_403_for_another_key_with_a_valid_signature()
    {
        var link = (await StoreAndLinkAsync()).OriginalString.Replace("report.xlsx?", "other.xlsx?", StringComparison.Ordinal);
        using var client = api.CreateClient();

        using var response = await client.GetAsync(new Uri(link, UriKind.Relative));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Should_answer_410_for_an_expired_link()
    {
        await StoreAndLinkAsync();
        // The same key signed two hours ago with a one-hour expiry.
        var past = new LocalBlobLinks(Encoding.UTF8.GetBytes(ScanSessionsApi.SigningKey), null, new FakeTimeProvider(TimeProvider.System.GetUtcNow().AddHours(-2)));
        var link = past.Create(Key, "report.xlsx", TimeSpan.FromHours(1));
        using var client = api.CreateClient();

        using var response = await client.GetAsync(link);

        Assert.Equal(HttpStatusCode.Gone, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private async Task<Uri> StoreAndLinkAsync()
    {
        var blobs = api.Services.GetRequiredService<IBlobStore>();
        await blobs.PutAsync(Key, new MemoryStream("workbook bytes"u8.ToArray()), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        return await blobs.GetDownloadLinkAsync(Key, "report.xlsx");
    }
}
