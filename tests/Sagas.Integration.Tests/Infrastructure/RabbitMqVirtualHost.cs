using System.Diagnostics;

namespace Sagas.Integration.Tests.Infrastructure;

/// <summary>
/// An isolated broker namespace for one test class. With the throwaway broker of tests/run-tests.sh a fresh virtual
/// host is created (and deleted afterwards) so queues and exchanges of parallel test classes never meet; with a
/// broker given from outside the configured virtual host is shared and tests keep to their own queue names.
/// </summary>
public sealed class RabbitMqVirtualHost : IAsyncLifetime
{
    private string? _createdVirtualHost;

    public Uri Address { get; private set; } = new("amqp://guest:guest@127.0.0.1:5672/");

    public async Task InitializeAsync()
    {
        if (TestServers.RabbitMq is not { } configured)
            return;

        var baseAddress = new Uri(configured);
        Address = baseAddress;
        if (TestServers.RabbitMqCtl is not { } ctl)
            return;

        var name = "sagas-test-" + Guid.NewGuid().ToString("N")[..12];
        await RunCtlAsync(ctl, "add_vhost", name);
        await RunCtlAsync(ctl, "set_permissions", "-p", name, new UriBuilder(baseAddress).UserName is { Length: > 0 } user ? Uri.UnescapeDataString(user) : "guest", ".*", ".*", ".*");
        _createdVirtualHost = name;
        Address = new UriBuilder(baseAddress) { Path = "/" + name }.Uri;
    }

    public async Task DisposeAsync()
    {
        if (_createdVirtualHost is not null && TestServers.RabbitMqCtl is { } ctl)
            await RunCtlAsync(ctl, "delete_vhost", _createdVirtualHost);
    }

    public static async Task RunCtlAsync(string ctl, params string[] arguments)
    {
        var start = new ProcessStartInfo(ctl) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {ctl}");
        var error = await process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}");
    }
}
