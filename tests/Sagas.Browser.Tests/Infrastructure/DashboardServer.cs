using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Sagas.Browser.Tests.Infrastructure;

/// <summary>
/// The embedded default (in-memory bus, SQLite in a temporary folder, simulated providers) on a real Kestrel port,
/// because a browser cannot reach WebApplicationFactory's in-memory TestServer. Polling is fast so jobs finish in seconds.
/// </summary>
public class DashboardServer : WebApplicationFactory<Program>
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-browser-tests-" + Guid.NewGuid().ToString("N"));

    public DashboardServer() => this.UseKestrel(0);

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Starts Kestrel once; the bound address (a free loopback port) is read back from the server.</summary>
    public Uri Start()
    {
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        var address = addresses.First(a => a.StartsWith("http://", StringComparison.Ordinal))
            .Replace("[::]", "127.0.0.1", StringComparison.Ordinal)
            .Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)
            .Replace("localhost", "127.0.0.1", StringComparison.Ordinal);
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return BaseAddress;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(EnvironmentName);
        builder.UseSetting("urls", "http://127.0.0.1:0");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("LlmJobs:Polling:Interval", "00:00:01");
        builder.UseSetting("LlmJobs:Polling:MinInterval", "00:00:01");
        builder.UseSetting("Scheduling:Schedules:llm-job-poll:Cron", "0/1 * * * * ?");
        builder.UseSetting("LlmJobs:Providers:Simulated:MinLatency", "00:00:00.100");
        builder.UseSetting("LlmJobs:Providers:Simulated:MaxLatency", "00:00:00.400");
        builder.UseSetting("LlmJobs:Providers:Simulated:FailureRate", "0");
        builder.UseSetting("PromptAnalyses:Platforms:Simulated:FailureRate", "0");
        builder.UseSetting("PromptAnalyses:Platforms:Simulated:RateLimitRate", "0");
        builder.UseSetting("Storage:Local:Root", Path.Combine(_dataDirectory, "blobs"));
        builder.UseSetting("ScanSessions:ProgressInterval", "00:00:00");
        builder.UseSetting("Api:Realtime:ProgressInterval", "00:00:00");
        ConfigureMore(builder);
    }

    protected virtual string EnvironmentName => "Development";

    protected virtual void ConfigureMore(IWebHostBuilder builder)
    {
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}
