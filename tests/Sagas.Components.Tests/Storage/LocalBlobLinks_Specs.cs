using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Time.Testing;
using Sagas.Storage.Local;

namespace Sagas.Components.Tests.Storage;

public sealed class When_a_signed_local_download_link_is_checked
{
    private static readonly byte[] SigningKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 20, 3, 0, 0, TimeSpan.Zero));
    private readonly LocalBlobLinks _links;

    public When_a_signed_local_download_link_is_checked() => _links = new LocalBlobLinks(SigningKey, "https://api.example.com/", _clock);

    [Fact]
    public void Should_accept_the_link_as_issued()
    {
        var link = Parse(_links.Create("sessions/7/report.xlsx", "report.xlsx"));

        Assert.True(_links.TryValidate(link.Key, link.Expires, link.Name, link.Signature, out var error), error);
        Assert.Equal("sessions/7/report.xlsx", link.Key);
        Assert.Equal("report.xlsx", link.Name);
    }

    [Fact]
    public void Should_expire_one_hour_after_issue_by_default()
    {
        var link = Parse(_links.Create("sessions/7/report.xlsx", "report.xlsx"));

        _clock.Advance(TimeSpan.FromMinutes(59));
        Assert.True(_links.TryValidate(link.Key, link.Expires, link.Name, link.Signature, out _));

        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.False(_links.TryValidate(link.Key, link.Expires, link.Name, link.Signature, out var error));
        Assert.Equal("The link has expired.", error);
    }

    [Fact]
    public void Should_honour_a_custom_expiry()
    {
        var link = Parse(_links.Create("a.txt", "a.txt", TimeSpan.FromMinutes(5)));

        Assert.Equal(_clock.GetUtcNow().AddMinutes(5).ToUnixTimeSeconds().ToString(), link.Expires);
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.False(_links.TryValidate(link.Key, link.Expires, link.Name, link.Signature, out _));
    }

    [Theory]
    [InlineData("key")]
    [InlineData("expires")]
    [InlineData("name")]
    [InlineData("signature")]
    public void Should_reject_a_link_with_any_part_changed(string part)
    {
        var link = Parse(_links.Create("sessions/7/report.xlsx", "report.xlsx"));
        var tampered = part switch
        {
            "key" => link with { Key = "sessions/8/report.xlsx" },
            "expires" => link with { Expires = (long.Parse(link.Expires) + 86_400).ToString() },
            "name" => link with { Name = "report.exe" },
            _ => link with { Signature = Flip(link.Signature) },
        };

        Assert.False(_links.TryValidate(tampered.Key, tampered.Expires, tampered.Name, tampered.Signature, out var error));
        Assert.Equal("The link signature is invalid.", error);
    }

    [Fact]
    public void Should_reject_a_link_signed_with_another_key()
    {
        var other = new LocalBlobLinks(new byte[32], "https://api.example.com", _clock);
        var link = Parse(other.Create("a.txt", "a.txt"));

        Assert.False(_links.TryValidate(link.Key, link.Expires, link.Name, link.Signature, out _));
    }

    [Theory]
    [InlineData(null, "1", "a", "sig")]
    [InlineData("a.txt", null, "a", "sig")]
    [InlineData("a.txt", "soon", "a", "sig")]
    [InlineData("a.txt", "-5", "a", "sig")]
    [InlineData("a.txt", "1", null, "sig")]
    [InlineData("a.txt", "1", "a", null)]
    [InlineData("a.txt", "1", "a", "!!not base64!!")]
    [InlineData("../a.txt", "1", "a", "sig")]
    public void Should_reject_incomplete_or_malformed_links(string? key, string? expires, string? name, string? signature)
    {
        Assert.False(_links.TryValidate(key, expires, name, signature, out var error));
        Assert.NotEmpty(error);
    }

    [Fact]
    public void Should_build_a_relative_link_without_a_public_base_url()
    {
        var relative = new LocalBlobLinks(SigningKey, null, _clock).Create("a b/c.txt", "c.txt");

        Assert.False(relative.IsAbsoluteUri);
        Assert.StartsWith("/files/a%20b/c.txt?expires=", relative.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_offer_a_harmless_file_name()
    {
        var link = Parse(_links.Create("a.txt", "../../evil\"\r\nname.txt"));

        Assert.Equal("_.._evil___name.txt", link.Name);
        Assert.True(_links.TryValidate(link.Key, link.Expires, link.Name, link.Signature, out _));
    }

    private static string Flip(string signature) =>
        (signature[0] == 'A' ? 'B' : 'A') + signature[1..];

    private static IssuedLink Parse(Uri link)
    {
        var uri = link.IsAbsoluteUri ? link : new Uri(new Uri("https://host"), link);
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(LocalBlobLinks.RoutePrefix, segments[0]);
        var query = QueryHelpers.ParseQuery(uri.Query);
        return new IssuedLink(
            string.Join('/', segments.Skip(1).Select(Uri.UnescapeDataString)),
            query[LocalBlobLinks.ExpiresParameter].ToString(),
            query[LocalBlobLinks.NameParameter].ToString(),
            query[LocalBlobLinks.SignatureParameter].ToString());
    }

    private sealed record IssuedLink(string Key, string Expires, string Name, string Signature);
}
