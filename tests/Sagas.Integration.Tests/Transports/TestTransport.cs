using System.Diagnostics;
using System.Text;
using RabbitMQ.Client;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports.AmazonSqs;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Sagas.Integration.Tests.Transports;

/// <summary>
/// A broker a spec runs its hosts on, given to them as <c>Messaging:*</c> settings, so one spec body runs on every
/// transport: the body lives in an abstract class generic over the transport, and each transport gets a small sealed
/// class of its own (its own fixtures, so the transports' runs never share a queue or a database).
/// </summary>
public interface ITestTransport : IAsyncLifetime
{
    /// <summary>How failure messages name the transport.</summary>
    string Name { get; }

    /// <summary>The host configuration that points a Sagas process at this broker.</summary>
    IReadOnlyDictionary<string, string?> HostSettings { get; }

    /// <summary>The credential the hosts are given: it must never show in headers, logs or <c>failed_messages</c>.</summary>
    string Secret { get; }

    /// <summary>Messages waiting (ready, not held by a consumer) in a queue named by its logical name; 0 when it does not exist.</summary>
    Task<int> CountAsync(string queue);

    /// <summary>Every queue of this transport's namespace (virtual host, name prefix) with what it holds.</summary>
    Task<IReadOnlyList<TestQueue>> QueuesAsync();

    /// <summary>The transport headers of one message waiting in a queue, which stays there.</summary>
    Task<IReadOnlyDictionary<string, string>> PeekHeadersAsync(string queue);
}

/// <summary>
/// A queue by its logical name. <see cref="Messages"/> counts ready, held (unacknowledged / in flight) and delayed
/// messages; <see cref="Consumers"/> is null where the broker cannot tell (SQS has no consumer count).
/// </summary>
public sealed record TestQueue(string Name, long Messages, int? Consumers)
{
    /// <summary>Error and skipped queues: nobody consumes them, what lies there was given up on.</summary>
    public bool IsDeadEnd => Name.EndsWith("_error", StringComparison.Ordinal) || Name.EndsWith("_skipped", StringComparison.Ordinal);
}

/// <summary>The throwaway RabbitMQ of tests/run-tests.sh, in a virtual host of the fixture's own.</summary>
public sealed class RabbitMqTestTransport : ITestTransport
{
    private readonly RabbitMqVirtualHost _virtualHost = new();

    public string Name => "RabbitMQ";

    public Uri Address => _virtualHost.Address;

    public IReadOnlyDictionary<string, string?> HostSettings => new Dictionary<string, string?>
    {
        ["Messaging:Transport"] = "RabbitMq",
        ["Messaging:RabbitMq:Uri"] = _virtualHost.Address.ToString(),
    };

    public string Secret => Address.UserInfo.Split(':', 2) is [_, { Length: > 0 } password] ? Uri.UnescapeDataString(password) : "guest";

    private string VirtualHost => Uri.UnescapeDataString(Address.AbsolutePath.TrimStart('/')) is { Length: > 0 } name ? name : "/";

    public async Task<int> CountAsync(string queue)
    {
        var factory = new ConnectionFactory { Uri = Address };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return checked((int)await channel.MessageCountAsync(queue));
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            // Not declared yet: an error queue appears with the first fault.
            return 0;
        }
    }

    /// <summary>From rabbitmqctl (needs SAGAS_TEST_RABBITMQ_CTL): <c>messages</c> is ready plus unacknowledged.</summary>
    public async Task<IReadOnlyList<TestQueue>> QueuesAsync()
    {
        var ctl = TestServers.RabbitMqCtl ?? throw new InvalidOperationException(
            "Listing RabbitMQ queues needs SAGAS_TEST_RABBITMQ_CTL (rabbitmqctl for the throwaway broker); tests/run-tests.sh sets it.");
        var listing = await ReadCtlAsync(ctl, "list_queues", "-q", "--no-table-headers", "-p", VirtualHost, "name", "messages", "consumers");
        return [.. listing.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries))
            .Where(columns => columns.Length == 3)
            .Select(columns => new TestQueue(columns[0], long.Parse(columns[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(columns[2], System.Globalization.CultureInfo.InvariantCulture)))];
    }

    public async Task<IReadOnlyDictionary<string, string>> PeekHeadersAsync(string queue)
    {
        var factory = new ConnectionFactory { Uri = Address };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var message = await channel.BasicGetAsync(queue, autoAck: false) ?? throw new InvalidOperationException($"queue {queue} holds no message to look at");
        // Put back at once: the spec counts the queue afterwards.
        await channel.BasicNackAsync(message.DeliveryTag, multiple: false, requeue: true);
        return (message.BasicProperties.Headers ?? new Dictionary<string, object?>())
            .ToDictionary(header => header.Key, header => header.Value switch
            {
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                null => "",
                var other => Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture) ?? "",
            });
    }

    public Task InitializeAsync() => _virtualHost.InitializeAsync();

    public Task DisposeAsync() => _virtualHost.DisposeAsync();

    private static async Task<string> ReadCtlAsync(string ctl, params string[] arguments)
    {
        var start = new ProcessStartInfo(ctl) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {ctl}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}");
        return await output;
    }
}

/// <summary>What each transport needs on this machine; outside CI a spec whose transport cannot run is skipped.</summary>
public static class TestTransports
{
    /// <summary>The transport a spec class runs on: the <see cref="ITestTransport"/> its generic base class was closed over.</summary>
    public static Type? Of(Type specClass)
    {
        for (var type = specClass; type is not null; type = type.BaseType)
        {
            if (type.IsGenericType && type.GetGenericArguments().FirstOrDefault(typeof(ITestTransport).IsAssignableFrom) is { } transport)
                return transport;
        }

        return null;
    }

    /// <summary>Why a spec on <paramref name="transport"/> cannot run here, or null; with CI=true always null.</summary>
    public static string? Unavailable(Type? transport, bool postgres)
    {
        if (TestServers.Required)
            return null;
        if (postgres && TestServers.Postgres is null)
            return $"needs {TestServers.PostgresVariable} (tests/run-tests.sh provides it)";
        if (transport == typeof(RabbitMqTestTransport) && TestServers.RabbitMq is null)
            return $"needs {TestServers.RabbitMqVariable} (tests/run-tests.sh provides it)";
        if (transport == typeof(AmazonSqsTestTransport) && !Storage.FauxqsEmulator.CanRun)
            return "needs node and npm (or a cached fauxqs install) for the SQS/SNS emulator";
        return null;
    }
}

/// <summary>
/// A fact in a spec body shared by the transports: skipped outside CI when the concrete class's transport (or
/// PostgreSQL, when asked) is missing here; never skipped with CI=true.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
[XunitTestCaseDiscoverer("Sagas.Integration.Tests.Transports.TransportFactDiscoverer", "Sagas.Integration.Tests")]
public sealed class TransportFactAttribute(bool postgres = true) : FactAttribute
{
    public bool Postgres { get; } = postgres;
}

/// <summary>Finds the transport through the concrete test class, which an attribute on the shared method cannot see.</summary>
public sealed class TransportFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var transport = TestTransports.Of(testMethod.TestClass.Class.ToRuntimeType());
        var skip = TestTransports.Unavailable(transport, factAttribute.GetNamedArgument<bool>(nameof(TransportFactAttribute.Postgres)));
        yield return new TransportTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, skip);
    }
}

/// <summary>An ordinary test case that carries the skip reason its discoverer worked out.</summary>
public sealed class TransportTestCase : XunitTestCase
{
    private string? _unavailable;

    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public TransportTestCase()
    {
    }

    public TransportTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay display, TestMethodDisplayOptions displayOptions, ITestMethod testMethod, string? unavailable)
        : base(diagnosticMessageSink, display, displayOptions, testMethod) =>
        _unavailable = unavailable;

    protected override string GetSkipReason(IAttributeInfo factAttribute) => _unavailable ?? base.GetSkipReason(factAttribute);

    public override void Serialize(IXunitSerializationInfo data)
    {
        base.Serialize(data);
        data.AddValue("Unavailable", _unavailable);
    }

    public override void Deserialize(IXunitSerializationInfo data)
    {
        base.Deserialize(data);
        _unavailable = data.GetValue<string?>("Unavailable");
    }
}

/// <summary>
/// The class fixture of a spec body shared by the transports: a PostgreSQL database and a broker namespace, both the
/// class's own (generic, as xunit fixtures are found by type and <c>IClassFixture&lt;TTransport&gt;</c> beside
/// <c>IClassFixture&lt;PostgresDatabase&gt;</c> could unify).
/// </summary>
public sealed class TransportServers<TTransport> : IAsyncLifetime
    where TTransport : class, ITestTransport, new()
{
    public PostgresDatabase Database { get; } = new();

    public TTransport Transport { get; } = new();

    public Task InitializeAsync() => Task.WhenAll(Database.InitializeAsync(), Transport.InitializeAsync());

    public async Task DisposeAsync()
    {
        await Transport.DisposeAsync();
        await Database.DisposeAsync();
    }
}
