using Sagas.Integration.Tests.Infrastructure;

namespace Sagas.Integration.Tests.Faults;

/// <summary>
/// The fault specs restart servers, so they run as one collection that xunit never runs beside another collection of
/// this assembly. PostgreSQL restarts hit a cluster of their own (<see cref="DedicatedPostgres"/>); RabbitMQ restarts
/// hit the shared throwaway broker (a second node is too heavy for a 2-core machine): safe because no other test
/// collection of this assembly runs meanwhile, and no other test assembly uses the broker. The Amazon SQS scenarios
/// each start an emulator of their own.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultCollection : ICollectionFixture<FaultServers>
{
    public const string Name = "faults";
}

public sealed class FaultServers : IAsyncLifetime
{
    private DedicatedPostgres? _postgres;

    public DedicatedPostgres Postgres => _postgres ?? throw new InvalidOperationException(
        "The fault specs need PostgreSQL binaries for a cluster of their own: SAGAS_TEST_POSTGRES_BIN (tests/run-tests.sh sets it) or the Debian postgresql package.");

    public async Task InitializeAsync()
    {
        // Only where some transport can run the scenarios: a laptop without either skips them all.
        if (PostgresBinaries() is { } bin && (TestServers.Required || TestServers.RabbitMq is not null || Storage.FauxqsEmulator.CanRun))
            _postgres = await DedicatedPostgres.StartAsync(bin);
    }

    /// <summary>SAGAS_TEST_POSTGRES_BIN, else the newest Debian PostgreSQL installed (servers given from outside).</summary>
    private static string? PostgresBinaries()
    {
        if (Environment.GetEnvironmentVariable("SAGAS_TEST_POSTGRES_BIN") is { Length: > 0 } configured)
            return configured;
        const string debian = "/usr/lib/postgresql";
        return Directory.Exists(debian)
            ? Directory.GetDirectories(debian)
                .Select(version => Path.Combine(version, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "initdb")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var major) ? major : 0)
                .FirstOrDefault()
            : null;
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
            await _postgres.DisposeAsync();
    }

    public static string RabbitMqCtl => TestServers.RabbitMqCtl ?? throw new InvalidOperationException(
        "The RabbitMQ fault specs need SAGAS_TEST_RABBITMQ_CTL (rabbitmqctl for the throwaway broker); tests/run-tests.sh sets it.");

    /// <summary>Stops and starts the broker application: every connection drops, durable queues and their messages stay.</summary>
    public static async Task RestartRabbitMqAsync()
    {
        await RabbitMqVirtualHost.RunCtlAsync(RabbitMqCtl, "stop_app");
        await RabbitMqVirtualHost.RunCtlAsync(RabbitMqCtl, "start_app");
        await RabbitMqVirtualHost.RunCtlAsync(RabbitMqCtl, "await_startup");
    }
}
