using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;
using Sagas.Integration.Tests.Transports.AmazonSqs;
using Sagas.Messaging;
using Sagas.Workflows;
using Sagas.Components.Tests.Messaging;

namespace Sagas.Integration.Tests.Messaging;


public sealed class When_a_database_endpoint_fails_on_rabbitmq(TransportServers<RabbitMqTestTransport> servers)
    : DatabaseRedeliveryProbe<RabbitMqTestTransport>(servers)
{
    // RabbitMQ cannot delay a message itself (no delayed-exchange plugin): every redelivery is a scheduled send.
    protected override bool ThroughScheduler => true;
}

public sealed class When_a_database_endpoint_fails_on_amazon_sqs(TransportServers<AmazonSqsTestTransport> servers)
    : DatabaseRedeliveryProbe<AmazonSqsTestTransport>(servers)
{
    // SQS delays the message itself (DelaySeconds): no scheduler, no database needed while it waits.
    protected override bool ThroughScheduler => false;
}

/// <summary>
/// The redelivery every database endpoint gets from <c>UseDatabaseRetry</c>, as production hosts it (AddSagas with the
/// scheduler role, the broker, PostgreSQL): a transient database failure that outlives the retries in place is
/// redelivered after each configured delay (<c>Messaging:Redelivery:Intervals</c>) and consumed once; a failure that
/// outlives every redelivery, or that waiting cannot cure, ends in the error queue with one fault.
/// </summary>
public abstract class DatabaseRedeliveryProbe<TTransport> : IClassFixture<TransportServers<TTransport>>
    where TTransport : class, ITestTransport, new()
{
    private const string ErrorQueue = RedeliveryProbeConsumerDefinition.Queue + "_error";
    private static readonly TimeSpan[] Intervals = [TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3)];
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly PostgresDatabase _database;
    private readonly TTransport _broker;
    private readonly RedeliveryProbeLog _log = new();

    protected DatabaseRedeliveryProbe(TransportServers<TTransport> servers)
    {
        _database = servers.Database;
        _broker = servers.Transport;
    }

    protected abstract bool ThroughScheduler { get; }

    [TransportFact]
    public async Task Should_redeliver_a_transient_database_failure_after_each_delay_and_consume_it_once()
    {
        using var host = await StartAsync();
        var work = new RedeliveryProbeWork(NewId.NextGuid(), FailedDeliveries: Intervals.Length, Transient: true);
        var errors = await _broker.CountAsync(ErrorQueue);

        await SendAsync(host, work);

        await WaitUntilAsync(() => _log.Consumed.Contains(work.Id));
        var attempts = _log.Of(work.Id);
        // Each failed delivery: the first attempt and its retry in place; then the redelivery that succeeds.
        Assert.Equal([0, 0, 1, 1, 2], attempts.Select(a => a.Redelivery));
        _log.AssertOneMessage(work.Id);
        AssertWaited(attempts, Intervals);
        Assert.All(attempts.Where(a => a.Redelivery > 0), a => Assert.Equal(ThroughScheduler, a.ThroughScheduler));
        Assert.Equal([work.Id], _log.Consumed.Where(id => id == work.Id));
        // A fault would have been published before the redelivery that succeeded was even scheduled.
        Assert.DoesNotContain(work.Id, _log.Faults);
        Assert.Equal(errors, await _broker.CountAsync(ErrorQueue));
    }

    [TransportFact]
    public async Task Should_move_it_to_the_error_queue_with_one_fault_once_every_redelivery_failed()
    {
        using var host = await StartAsync();
        var work = new RedeliveryProbeWork(NewId.NextGuid(), FailedDeliveries: int.MaxValue, Transient: true);
        var errors = await _broker.CountAsync(ErrorQueue);

        await SendAsync(host, work);

        await WaitUntilAsync(async () => _log.Faults.Contains(work.Id) && await _broker.CountAsync(ErrorQueue) > errors);
        var attempts = _log.Of(work.Id);
        Assert.Equal([0, 0, 1, 1, 2, 2], attempts.Select(a => a.Redelivery));
        _log.AssertOneMessage(work.Id);
        AssertWaited(attempts, Intervals);
        Assert.Single(_log.Faults, id => id == work.Id);
        Assert.DoesNotContain(work.Id, _log.Consumed);
        Assert.Equal(errors + 1, await _broker.CountAsync(ErrorQueue));
    }

    [TransportFact]
    public async Task Should_not_redeliver_a_failure_that_waiting_cannot_cure()
    {
        using var host = await StartAsync();
        var work = new RedeliveryProbeWork(NewId.NextGuid(), FailedDeliveries: int.MaxValue, Transient: false);
        var errors = await _broker.CountAsync(ErrorQueue);

        await SendAsync(host, work);

        await WaitUntilAsync(async () => _log.Faults.Contains(work.Id) && await _broker.CountAsync(ErrorQueue) > errors);
        // Straight to the error queue: UseDatabaseRetry retries only database failures, the redelivery only transient ones.
        Assert.Equal([0], _log.Of(work.Id).Select(a => a.Redelivery));
        Assert.Single(_log.Faults, id => id == work.Id);
        Assert.Equal(errors + 1, await _broker.CountAsync(ErrorQueue));
    }

    /// <summary>Each delivery began no earlier than its delay after the previous delivery's last attempt.</summary>
    private static void AssertWaited((int Redelivery, long Ticks, bool ThroughScheduler)[] attempts, TimeSpan[] intervals)
    {
        for (var redelivery = 1; redelivery <= intervals.Length; redelivery++)
        {
            var previous = attempts.Last(a => a.Redelivery == redelivery - 1).Ticks;
            var first = attempts.First(a => a.Redelivery == redelivery).Ticks;
            var waited = Stopwatch.GetElapsedTime(previous, first);
            Assert.True(waited >= intervals[redelivery - 1] - TimeSpan.FromMilliseconds(50),
                $"redelivery {redelivery} came {waited} after the failed delivery before it; the delay is {intervals[redelivery - 1]}");
        }
    }

    private async Task<IHost> StartAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(_broker.HostSettings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = _database.ConnectionString,
            // The scheduler role: Quartz on PostgreSQL serves the scheduler queue, as in production.
            ["Worker:Roles"] = "scheduler",
            ["Messaging:Redelivery:Intervals"] = string.Join(",", Intervals.Select(i => i.ToString())),
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Services.AddSingleton(_log);
        builder.AddSagas("redelivery-specs", SagasWorkflows.Catalog, bus =>
        {
            bus.AddConsumer<RedeliveryProbeConsumer, RedeliveryProbeConsumerDefinition>();
            bus.AddConsumer<RedeliveryProbeFaultConsumer>().Endpoint(e => e.Name = "redelivery-specs-faults");
        });
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static async Task SendAsync(IHost host, RedeliveryProbeWork work)
    {
        var endpoint = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{RedeliveryProbeConsumerDefinition.Queue}"));
        await endpoint.Send(work);
    }

    private static Task WaitUntilAsync(Func<bool> condition) => WaitUntilAsync(() => Task.FromResult(condition()));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (!await condition())
            await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
    }
}
