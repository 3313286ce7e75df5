using Sagas.Integration.Tests.Infrastructure;

namespace Sagas.Integration.Tests.Storage;

/// <summary>
/// The fauxqs S3/SQS/SNS emulator (<see cref="FauxqsServer"/>) as an xunit fixture: shared by the S3 test classes, one
/// per class for the Amazon SQS transport specs. Outside CI the tests are skipped when node/npm are missing; with
/// CI=true a server that cannot start fails them.
/// </summary>
public sealed class FauxqsEmulator : IAsyncLifetime
{
    public const string Version = FauxqsServer.Version;

    private FauxqsServer? _server;

    public Uri? ServiceUrl => _server?.ServiceUrl;

    public static bool CanRun => FauxqsServer.CanRun;

    public Uri RequireServiceUrl() =>
        ServiceUrl ?? throw new InvalidOperationException("The fauxqs emulator is not running (node is missing). Install node 20+ and npm.");

    public async Task InitializeAsync()
    {
        if (!CanRun)
        {
            if (TestServers.Required)
                throw new InvalidOperationException($"CI=true but the fauxqs emulator cannot run: node is {NpmPackages.Node ?? "missing"}, npm is {NpmPackages.Npm ?? "missing"}.");
            return;
        }

        _server = await FauxqsServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class FauxqsCollection : ICollectionFixture<FauxqsEmulator>
{
    public const string Name = "fauxqs S3 emulator";
}

/// <summary>An S3 test: skipped outside CI when the emulator cannot run here; never skipped with CI=true.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class FauxqsFactAttribute : FactAttribute
{
    public FauxqsFactAttribute()
    {
        if (!TestServers.Required && !FauxqsEmulator.CanRun)
            Skip = "needs node and npm (or a cached fauxqs install) for the S3 emulator";
    }
}
