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
public sealed class AmazonSqsTestTransport : ITestTransport
{
    public const string AccessKey = "test-access-key";
    public const string SecretKey = "test-secret-key";

    private readonly FauxqsEmulator _emulator = new();

    public string Prefix { get; } = "t" + Guid.NewGuid().ToString("N")[..8] + "-";

    public Uri ServiceUrl => _emulator.RequireServiceUrl();

    public string Name => "Amazon SQS (fauxqs emulator)";

    public string Secret => SecretKey;

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
    public async Task<int> CountAsync(string queue)
    {
        using var client = CreateClient();
        try
        {
            var url = (await client.GetQueueUrlAsync(SqsNames.Queue(Prefix, queue))).QueueUrl;
            var attributes = await client.GetQueueAttributesAsync(new GetQueueAttributesRequest(url, ["ApproximateNumberOfMessages"]));
            return attributes.ApproximateNumberOfMessages;
        }
        catch (QueueDoesNotExistException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Every queue of the prefix; <see cref="TestQueue.Messages"/> is visible + in flight + delayed. SQS cannot say
    /// whether anyone consumes a queue, so <see cref="TestQueue.Consumers"/> is null.
    /// </summary>
    public async Task<IReadOnlyList<TestQueue>> QueuesAsync()
    {
        using var client = CreateClient();
        var queues = new List<TestQueue>();
        string? next = null;
        do
        {
            var page = await client.ListQueuesAsync(new ListQueuesRequest { QueueNamePrefix = Prefix, NextToken = next, MaxResults = 1000 });
            foreach (var url in page.QueueUrls ?? [])
            {
                GetQueueAttributesResponse attributes;
                try
                {
                    attributes = await client.GetQueueAttributesAsync(new GetQueueAttributesRequest(url,
                        ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]));
                }
                catch (QueueDoesNotExistException)
                {
                    // A response queue deleted as its bus stopped, between the listing and this look.
                    continue;
                }

                var name = url[(url.LastIndexOf('/') + 1)..][Prefix.Length..];
                queues.Add(new TestQueue(name, (long)attributes.ApproximateNumberOfMessages + attributes.ApproximateNumberOfMessagesNotVisible + attributes.ApproximateNumberOfMessagesDelayed, null));
            }

            next = page.NextToken;
        }
        while (next is not null);

        return queues;
    }

    /// <summary>The headers the transport reads from a message's attributes (the copied-header JSON unpacked), left in the queue.</summary>
    public async Task<IReadOnlyDictionary<string, string>> PeekHeadersAsync(string queue)
    {
        using var client = CreateClient();
        var url = (await client.GetQueueUrlAsync(SqsNames.Queue(Prefix, queue))).QueueUrl;
        var received = await client.ReceiveMessageAsync(new ReceiveMessageRequest(url) { MessageAttributeNames = ["All"], WaitTimeSeconds = 1 });
        var message = received.Messages is [var first, ..] ? first : throw new InvalidOperationException($"queue {queue} holds no message to look at");
        // Visible again at once: the spec counts the queue afterwards.
        await client.ChangeMessageVisibilityAsync(new ChangeMessageVisibilityRequest(url, message.ReceiptHandle, 0));
        var attributes = (message.MessageAttributes ?? []).ToDictionary(a => a.Key, a => a.Value.StringValue ?? "");
        return SqsMessage.HeadersOf(attributes).ToDictionary(h => h.Key, h => h.Value.ToString() ?? "");
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
