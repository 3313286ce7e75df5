using System.Diagnostics;
using System.Globalization;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.Integration.Tests.Storage;
using Sagas.Transports.AmazonSqs;

namespace Sagas.Benchmarks;

/// <summary>
/// A broker a workload can run on: the host settings that point our processes at it, and MassTransit's raw send +
/// consume of N messages through one queue of it (the floor any workflow on that broker stands on).
/// </summary>
internal interface IBenchmarkBroker : IAsyncDisposable
{
    /// <summary>The command-line name (<c>--transports rabbitmq,amazon-sqs</c>).</summary>
    string Name { get; }

    /// <summary>How result tables name it; emulator figures say so.</summary>
    string Label { get; }

    IReadOnlyDictionary<string, string> HostSettings { get; }

    /// <summary>Sends <paramref name="messages"/> to one queue in batches of 500, one consumer drains it; the time for both.</summary>
    Task<TimeSpan> RawSendConsumeAsync(int messages);
}

internal static class BenchmarkBrokers
{
    public const string RabbitMq = "rabbitmq";
    public const string AmazonSqs = "amazon-sqs";

    /// <summary><c>--transports a,b</c>; both by default, RabbitMQ first.</summary>
    public static IReadOnlyList<string> Selected(string[] args)
    {
        var index = Array.IndexOf(args, "--transports");
        if (index < 0)
            return [RabbitMq, AmazonSqs];
        var names = index + 1 < args.Length ? args[index + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];
        if (names.Length == 0 || names.Any(name => name is not (RabbitMq or AmazonSqs)))
            throw new BenchmarkSetupException($"--transports takes a comma-separated list of {RabbitMq} and {AmazonSqs}.");
        return names;
    }

    public static async Task<IBenchmarkBroker> CreateAsync(string name) => name switch
    {
        RabbitMq => await RabbitMqBenchmarkBroker.CreateAsync(),
        AmazonSqs => await AmazonSqsBenchmarkBroker.CreateAsync(),
        _ => throw new BenchmarkSetupException($"unknown transport {name}"),
    };

    /// <summary>Counts consumed messages and completes when the expected number arrived.</summary>
    public sealed class RawCounter(int expected)
    {
        private int _count;
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Done => _done.Task;

        public Task Count()
        {
            if (Interlocked.Increment(ref _count) == expected)
                _done.TrySetResult();
            return Task.CompletedTask;
        }
    }

    /// <summary>The send loop both brokers share: batches of 500 sends in flight, then the wait for the last consume.</summary>
    public static async Task<TimeSpan> SendAndDrainAsync(ISendEndpoint endpoint, RawCounter counter, int messages)
    {
        var clock = Stopwatch.StartNew();
        foreach (var batch in Enumerable.Range(1, messages).Chunk(500))
            await Task.WhenAll(batch.Select(sequence => endpoint.Send(new RawPing(sequence))));
        await counter.Done.WaitAsync(TimeSpan.FromMinutes(10));
        return clock.Elapsed;
    }
}

public sealed record RawPing(int Sequence);

/// <summary>The throwaway RabbitMQ (publisher confirms on), in a virtual host of the run's own.</summary>
internal sealed class RabbitMqBenchmarkBroker(ThrowawayVirtualHost virtualHost) : IBenchmarkBroker
{
    public string Name => BenchmarkBrokers.RabbitMq;

    public string Label => "RabbitMQ";

    public IReadOnlyDictionary<string, string> HostSettings => new Dictionary<string, string>
    {
        ["Messaging:Transport"] = "RabbitMq",
        ["Messaging:RabbitMq:Uri"] = virtualHost.Address.ToString(),
    };

    public static async Task<IBenchmarkBroker> CreateAsync() => new RabbitMqBenchmarkBroker(await BenchmarkServers.CreateVirtualHostAsync());

    public async Task<TimeSpan> RawSendConsumeAsync(int messages)
    {
        var counter = new BenchmarkBrokers.RawCounter(messages);
        var queue = "bench-raw-" + Guid.NewGuid().ToString("N")[..6];
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(virtualHost.Address, host => host.PublisherConfirmation = true);
            cfg.ReceiveEndpoint(queue, endpoint => endpoint.Handler<RawPing>(_ => counter.Count()));
        });
        await bus.StartAsync();
        try
        {
            return await BenchmarkBrokers.SendAndDrainAsync(await bus.GetSendEndpoint(new Uri($"queue:{queue}")), counter, messages);
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    public ValueTask DisposeAsync() => virtualHost.DisposeAsync();
}

/// <summary>
/// Amazon SQS and SNS as the npm fauxqs emulator (a node process on loopback, started for the run) serves them, through
/// our transport with its default receive settings (prefetch 16, 30 s visibility) but 5 s long polls instead of 20:
/// a busy queue answers at once either way, and a stopping host waits out its last poll. Emulator figures: no
/// network, no AWS throttling or latency, and node's single thread serving every process of the run.
/// </summary>
internal sealed class AmazonSqsBenchmarkBroker(FauxqsServer emulator) : IBenchmarkBroker
{
    private readonly string _prefix = "b" + Guid.NewGuid().ToString("N")[..8] + "-";

    public string Name => BenchmarkBrokers.AmazonSqs;

    public string Label => $"Amazon SQS (fauxqs {FauxqsServer.Version} emulator)";

    public IReadOnlyDictionary<string, string> HostSettings => new Dictionary<string, string>
    {
        ["Messaging:Transport"] = "AmazonSqs",
        ["Messaging:AmazonSqs:ServiceUrl"] = emulator.ServiceUrl.ToString(),
        ["Messaging:AmazonSqs:AccessKey"] = "benchmark-access-key",
        ["Messaging:AmazonSqs:SecretKey"] = "benchmark-secret-key",
        ["Messaging:AmazonSqs:Prefix"] = _prefix,
        ["Messaging:AmazonSqs:WaitTimeSeconds"] = WaitTimeSeconds.ToString(CultureInfo.InvariantCulture),
    };

    private const int WaitTimeSeconds = 5;

    public static async Task<IBenchmarkBroker> CreateAsync()
    {
        try
        {
            return new AmazonSqsBenchmarkBroker(await FauxqsServer.StartAsync());
        }
        catch (InvalidOperationException exception)
        {
            throw new BenchmarkSetupException($"The Amazon SQS runs need the fauxqs emulator ({exception.Message}); tests/run-tests.sh installs it, or pass --transports rabbitmq.");
        }
    }

    public async Task<TimeSpan> RawSendConsumeAsync(int messages)
    {
        var counter = new BenchmarkBrokers.RawCounter(messages);
        var queue = "bench-raw-" + Guid.NewGuid().ToString("N")[..6];
        var options = new AmazonSqsTransportOptions
        {
            ServiceUrl = HostSettings["Messaging:AmazonSqs:ServiceUrl"],
            AccessKey = HostSettings["Messaging:AmazonSqs:AccessKey"],
            SecretKey = HostSettings["Messaging:AmazonSqs:SecretKey"],
            Prefix = _prefix,
            WaitTimeSeconds = WaitTimeSeconds,
        };
        var services = new ServiceCollection().AddLogging(logging => logging.AddFilter(level => level >= LogLevel.Warning));
        services.AddMassTransit(x =>
        {
            x.DisableUsageTelemetry();
            x.UsingSagasAmazonSqs(options, (_, cfg) => cfg.ReceiveEndpoint(queue, endpoint => endpoint.Handler<RawPing>(_ => counter.Count())));
        });
        await using var provider = services.BuildServiceProvider();
        var bus = provider.GetRequiredService<IBusControl>();
        await bus.StartAsync();
        try
        {
            return await BenchmarkBrokers.SendAndDrainAsync(await bus.GetSendEndpoint(new Uri($"queue:{queue}")), counter, messages);
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    public ValueTask DisposeAsync() => emulator.DisposeAsync();

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Label} at {emulator.ServiceUrl}");
}
