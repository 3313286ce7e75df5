using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Sagas.Api.Tests.Hosting;

public sealed class When_the_embedded_default_starts : IClassFixture<EmbeddedApi>
{
    private readonly HttpClient _client;

    public When_the_embedded_default_starts(EmbeddedApi api) => _client = api.CreateClient();

    [Fact]
    public async Task Should_be_ready_with_database_bus_and_scheduler_checked()
    {
        using var response = await _client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(body);
        var checks = json.RootElement.GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("database").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("masstransit-bus").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("scheduler").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Should_answer_liveness_without_checking_dependencies()
    {
        using var response = await _client.GetAsync(new Uri("/health/live", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"checks\":{}", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_round_trip_a_message_to_the_in_process_worker()
    {
        using var response = await _client.PostAsync(new Uri("/api/system/worker-check", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"machineName\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_expose_prometheus_metrics()
    {
        await _client.GetAsync(new Uri("/health/live", UriKind.Relative));
        using var response = await _client.GetAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("# TYPE", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

/// <summary>The API exactly as the README's embedded command runs it, on a database of its own.</summary>
public sealed class EmbeddedApi : WebApplicationFactory<Program>
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));

    /// <summary>Settings on top of the embedded default's (an init property: xunit builds fixtures through one parameterless constructor).</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        foreach (var (key, value) in Settings)
            builder.UseSetting(key, value);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}
