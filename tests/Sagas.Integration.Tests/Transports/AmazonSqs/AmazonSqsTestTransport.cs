using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Storage;
using Sagas.Transports.AmazonSqs;

namespace Sagas.Integration.Tests.Transports.AmazonSqs;

/// <summary>
/// Amazon SQS and SNS for one test class: a fauxqs emulator of its own on 127.0.0.1 (stopped with the fixture) and a
/// queue/topic prefix of its own. The emulator checks neither signatures nor policies (see docs/transports.md for the
/// manual check against a real account).
/// </summary>
public sealed class AmazonSqsTestTransport : ITestTransport, IAsyncLifetime
{
    public const string AccessKey = "test-access-key";
    public const string SecretKey = "test-secret-key";

    private readonly FauxqsEmulator _emulator = new();

    public string Prefix { get; } = "t" + Guid.NewGuid().ToString("N")[..8] + "-";

    public Uri ServiceUrl => _emulator.RequireServiceUrl();

    public IReadOnlyDictionary<string, string?> HostSettings => Settings();

    /// <summary>The host settings, with receive settings a spec wants to tighten.</summary>
    public Dictionary<string, string?> Settings(int? visibilityTimeoutSeconds = null, int? waitTimeSeconds = null) => new()
    {
        ["Messaging:Transport"] = "AmazonSqs",
        ["Messaging:AmazonSqs:ServiceUrl"] = ServiceUrl.ToString(),
        ["Messaging:AmazonSqs:AccessKey"] = AccessKey,
        ["Messaging:AmazonSqs:SecretKey"] = SecretKey,
        ["Messaging:AmazonSqs:Prefix"] = Prefix,
        // Short polls keep stopping a bus quick; production keeps the 20 s default.
        ["Messaging:AmazonSqs:WaitTimeSeconds"] = (waitTimeSeconds ?? 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Messaging:AmazonSqs:VisibilityTimeoutSeconds"] = (visibilityTimeoutSeconds ?? 30).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public AmazonSqsTransportOptions Options(int? visibilityTimeoutSeconds = null) => new()
    {
        ServiceUrl = ServiceUrl.ToString(),
        AccessKey = AccessKey,
        SecretKey = SecretKey,
        Prefix = Prefix,
        WaitTimeSeconds = 1,
        VisibilityTimeoutSeconds = visibilityTimeoutSeconds ?? 30,
    };

    /// <summary>A plain SQS client on the emulator, for looking into queues behind the transport's back.</summary>
    public AmazonSQSClient CreateClient() =>
        new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonSQSConfig { ServiceURL = ServiceUrl.ToString(), AuthenticationRegion = "us-east-1" });

    /// <summary>Messages waiting in (not held from) a queue named by its logical name; 0 when the queue does not exist.</summary>
    public async Task<int> CountAsync(string logicalQueue)
    {
        using var client = CreateClient();
        try
        {
            var url = (await client.GetQueueUrlAsync(SqsNames.Queue(Prefix, logicalQueue))).QueueUrl;
            var attributes = await client.GetQueueAttributesAsync(new GetQueueAttributesRequest(url, ["ApproximateNumberOfMessages"]));
            return attributes.ApproximateNumberOfMessages;
        }
        catch (QueueDoesNotExistException)
        {
            return 0;
        }
    }

    public Task InitializeAsync() => _emulator.InitializeAsync();

    public Task DisposeAsync() => _emulator.DisposeAsync();
}

/// <summary>
/// An SQS spec: needs node for the emulator, and PostgreSQL when asked. Outside CI it is skipped when either is missing;
/// with CI=true never.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AmazonSqsFactAttribute : FactAttribute
{
    public AmazonSqsFactAttribute(bool postgres = false)
    {
        if (TestServers.Required)
            return;
        if (!FauxqsEmulator.CanRun)
            Skip = "needs node and npm (or a cached fauxqs install) for the SQS/SNS emulator";
        else if (postgres && TestServers.Postgres is null)
            Skip = $"needs {TestServers.PostgresVariable} (tests/run-tests.sh provides it)";
    }
}
