using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Components.Tests.Storage;
using Sagas.Core.Configuration;
using Sagas.ScanSessions.Fetching;
using Sagas.ScanSessions.Fetching.GoogleDrive;
using Sagas.Storage;
using Sagas.Storage.Content;

namespace Sagas.Components.Tests.ScanSessions.Fetching;

/// <summary>
/// Specs that replace <see cref="HttpClient.DefaultProxy"/>, which is what <c>HTTPS_PROXY</c> / <c>HTTP_PROXY</c>
/// become in a process (read once, at first use): they run alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DefaultProxyCollection
{
    public const string Name = "replaces HttpClient.DefaultProxy";
}

/// <summary>
/// The scan URL guard checks the address it actually connects to. Nothing here sends a packet to an internal
/// address: the refused ones are refused before the connect, and what does connect is a stub on 127.0.0.1, which the
/// specs' own address policy lets through in place of a server (or proxy) on the public internet.
/// </summary>
[Collection(DefaultProxyCollection.Name)]
public sealed class When_a_scan_url_is_connected_to : IAsyncLifetime
{
    private const string Secret = "instance-role-credentials";
    private HttpStub _proxy = null!;
    private HttpStub _server = null!;
    private IWebProxy _environmentProxy = null!;

    public async Task InitializeAsync()
    {
        // Kestrel takes an absolute-form request (what a client sends a forward proxy) and routes on its path: the
        // stub answers like a proxy that reached the target.
        _proxy = await HttpStub.StartAsync(app =>
        {
            app.MapGet("/latest/meta-data/", () => Results.Text(Secret, "text/plain"));
            app.MapGet("/drawing.txt", () => Results.Text("HOLE-1 via the proxy", "text/plain"));
        });
        _server = await HttpStub.StartAsync(app => app.MapGet("/drawing.txt", () => Results.Text("HOLE-1", "text/plain")));
        _environmentProxy = HttpClient.DefaultProxy;
        HttpClient.DefaultProxy = new FixedProxy(_proxy.BaseAddress);
    }

    public async Task DisposeAsync()
    {
        HttpClient.DefaultProxy = _environmentProxy;
        await _proxy.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Should_not_let_a_proxy_in_the_environment_carry_a_request_to_an_internal_address()
    {
        // The proxy counts as public here, as a corporate proxy would; the target is the cloud metadata service.
        var fetcher = Fetcher(Dns.GetHostAddressesAsync, address => address.Equals(IPAddress.Loopback) || PrivateNetworkGuard.IsPublic(address));

        var result = await fetcher.FetchAsync(new Uri("http://169.254.169.254/latest/meta-data/"), CancellationToken.None);

        Assert.Equal(FetchFailureKind.Forbidden, result.Failure?.Kind);
        Assert.Contains("'169.254.169.254'", result.Failure!.Reason, StringComparison.Ordinal);
        Assert.Empty(_proxy.Requests);
    }

    [Theory]
    [InlineData("10.0.0.5")]
    [InlineData("64:ff9b::a00:5")]
    [InlineData("2002:a00:5::1")]
    [InlineData("2001:0:4136:e378:8000:63bf:f5ff:fffa")]
    [InlineData("::ffff:169.254.169.254")]
    public async Task Should_refuse_a_host_name_that_resolves_to_an_internal_address_at_connect(string resolved)
    {
        var lookups = 0;
        var fetcher = Fetcher(
            (_, _) =>
            {
                Interlocked.Increment(ref lookups);
                return Task.FromResult(new[] { IPAddress.Parse(resolved) });
            },
            PrivateNetworkGuard.IsPublic);

        var result = await fetcher.FetchAsync(new Uri("http://drawings.example.test/drawing.txt"), CancellationToken.None);

        Assert.Equal(FetchFailureKind.Forbidden, result.Failure?.Kind);
        Assert.Contains("'drawings.example.test'", result.Failure!.Reason, StringComparison.Ordinal);
        Assert.Equal(1, lookups);
        Assert.Empty(_proxy.Requests);
    }

    [Fact]
    public async Task Should_connect_only_to_the_allowed_addresses_a_name_resolves_to()
    {
        var allowed = Fetcher(
            (_, _) => Task.FromResult(new[] { IPAddress.Parse("10.0.0.5"), IPAddress.Loopback }),
            address => address.Equals(IPAddress.Loopback));

        var result = await allowed.FetchAsync(new Uri($"http://drawings.example.test:{_server.BaseAddress.Port}/drawing.txt"), CancellationToken.None);

        Assert.Null(result.Failure);
        Assert.Equal("HOLE-1", System.Text.Encoding.UTF8.GetString(result.Value!.Content.Span));
        Assert.Single(_server.Requests);
        Assert.Empty(_proxy.Requests);
    }

    [Fact]
    public async Task Should_use_the_environments_proxy_only_when_the_guard_is_off_and_the_proxy_is_asked_for()
    {
        await using var direct = Build(("ScanSessions:Fetching:AllowPrivateNetworks", "true"));
        await using var proxied = Build(("ScanSessions:Fetching:AllowPrivateNetworks", "true"), ("ScanSessions:Fetching:UseEnvironmentProxy", "true"));

        var straight = await direct.GetRequiredService<IScanFileFetcher>().FetchAsync(new UrlReference(new Uri(_server.BaseAddress, "drawing.txt")));
        var through = await proxied.GetRequiredService<IScanFileFetcher>().FetchAsync(new UrlReference(new Uri("http://drawings.example.invalid/drawing.txt")));

        Assert.Equal("HOLE-1", System.Text.Encoding.UTF8.GetString(straight.Value!.Content.Span));
        Assert.Equal("HOLE-1 via the proxy", System.Text.Encoding.UTF8.GetString(through.Value!.Content.Span));
        Assert.Single(_server.Requests);
        Assert.Equal("/drawing.txt", Assert.Single(_proxy.Requests).Path);
    }

    [Fact]
    public async Task Should_refuse_an_internal_address_with_the_registered_client_whatever_proxy_the_environment_names()
    {
        await using var services = Build();

        var result = await services.GetRequiredService<IScanFileFetcher>().FetchAsync(new UrlReference(new Uri("http://169.254.169.254/latest/meta-data/")));

        Assert.Equal(FetchFailureKind.Forbidden, result.Failure?.Kind);
        Assert.Contains("'169.254.169.254'", result.Failure!.Reason, StringComparison.Ordinal);
        Assert.Empty(_proxy.Requests);
    }

    [Fact]
    public void Should_refuse_the_environments_proxy_while_the_guard_is_on()
    {
        var error = Assert.Throws<SagasConfigurationException>(() => Build(("ScanSessions:Fetching:UseEnvironmentProxy", "true")));

        Assert.Contains("ScanSessions:Fetching:UseEnvironmentProxy is true but ScanSessions:Fetching:AllowPrivateNetworks is false", error.Message, StringComparison.Ordinal);
    }

    private static UrlFileFetcher Fetcher(Func<string, CancellationToken, Task<IPAddress[]>> resolve, Func<IPAddress, bool> isAllowed)
    {
        var options = new ScanFetchingOptions { MaxFileBytes = 1024, MaxRedirects = 3, UrlMaxRetries = 0 };
        var handler = ScanFetchingRegistration.CreateHandler(options, new GuardedConnector(resolve, isAllowed));
        return new UrlFileFetcher(new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) }, options);
    }

    private static ServiceProvider Build(params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Local:SigningKey"] = new string('s', 32),
            ["ScanSessions:Fetching:Timeout"] = "00:00:30",
            ["ScanSessions:Fetching:UrlMaxRetries"] = "0",
        };
        foreach (var (key, value) in overrides)
            settings[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var folder = new TemporaryFolder();
        return new ServiceCollection()
            .AddSagasBlobStore(configuration, folder.Path)
            .AddGoogleDriveClient(configuration)
            .AddScanFileFetching(configuration)
            .BuildServiceProvider();
    }

    /// <summary>What <c>HTTPS_PROXY=…</c> without <c>NO_PROXY</c> gives: every request goes to the proxy.</summary>
    private sealed class FixedProxy(Uri address) : IWebProxy
    {
        public ICredentials? Credentials { get; set; }

        public Uri GetProxy(Uri destination) => address;

        public bool IsBypassed(Uri host) => false;
    }
}
