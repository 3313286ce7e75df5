using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Sagas.Hosting;
using Sagas.Messaging;
using Sagas.Workflows;

namespace Sagas.Components.Tests.Messaging;


/// <summary>
/// The redelivery every database endpoint gets from <c>UseDatabaseRetry</c>, in the embedded default (in-memory
/// transport, SQLite, the scheduler queue on Quartz's in-memory store): a transient database failure that outlives the
/// retries in place goes through the scheduler and comes back after each configured delay; after the last it faults;
/// a failure waiting cannot cure faults at once. The same on RabbitMQ and Amazon SQS: Integration
/// <c>Messaging/DatabaseRedelivery_Specs.cs</c>.
/// </summary>
public sealed class When_a_database_endpoint_fails_in_the_embedded_default : IAsyncLifetime
{
    private static readonly TimeSpan[] Intervals = [TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(1500)];
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-redelivery-tests-" + Guid.NewGuid().ToString("N"));
    private readonly RedeliveryProbeLog _log = new();
    private IHost? _host;

    public async Task InitializeAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Development", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:DataDirectory"] = _dataDirectory,
            ["Database:MigrateAtStartup"] = "false",
            ["Messaging:Redelivery:Intervals"] = string.Join(",", Intervals.Select(i => i.ToString())),
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Services.AddSingleton(_log);
        builder.AddSagas("redelivery-tests", SagasWorkflows.Catalog, x =>
        {
            x.AddConsumer<RedeliveryProbeConsumer, RedeliveryProbeConsumerDefinition>();
            x.AddConsumer<RedeliveryProbeFaultConsumer>().Endpoint(e => e.Name = "embedded-redelivery-faults");
        });
        _host = builder.Build();
        await _host.StartAsync();
    }

    [Fact]
    public async Task Should_redeliver_a_transient_database_failure_through_the_scheduler_after_each_delay_and_consume_it_once()
    {
        var work = new RedeliveryProbeWork(Guid.NewGuid(), FailedDeliveries: Intervals.Length, Transient: true);

        await SendAsync(work);

        await WaitUntilAsync(() => _log.Consumed.Contains(work.Id), "consumed");
        var attempts = _log.Of(work.Id);
        Assert.Equal([0, 0, 1, 1, 2], attempts.Select(a => a.Redelivery));
        _log.AssertOneMessage(work.Id);
        AssertWaited(attempts);
        Assert.All(attempts, a => Assert.Equal(a.Redelivery > 0, a.ThroughScheduler));
        Assert.Single(_log.Consumed, id => id == work.Id);
        // A fault would have been published before the redelivery that succeeded was even scheduled.
        Assert.DoesNotContain(work.Id, _log.Faults);
    }

    [Fact]
    public async Task Should_fault_once_after_the_last_redelivery_failed()
    {
        var work = new RedeliveryProbeWork(Guid.NewGuid(), FailedDeliveries: int.MaxValue, Transient: true);

        await SendAsync(work);

        await WaitUntilAsync(() => _log.Faults.Contains(work.Id), "faulted");
        var attempts = _log.Of(work.Id);
        Assert.Equal([0, 0, 1, 1, 2, 2], attempts.Select(a => a.Redelivery));
        _log.AssertOneMessage(work.Id);
        AssertWaited(attempts);
        Assert.Single(_log.Faults, id => id == work.Id);
        Assert.DoesNotContain(work.Id, _log.Consumed);
    }

    [Fact]
    public async Task Should_fault_at_once_on_a_failure_that_waiting_cannot_cure()
    {
        var work = new RedeliveryProbeWork(Guid.NewGuid(), FailedDeliveries: int.MaxValue, Transient: false);

        await SendAsync(work);

        await WaitUntilAsync(() => _log.Faults.Contains(work.Id), "faulted");
        Assert.Equal([0], _log.Of(work.Id).Select(a => a.Redelivery));
        Assert.Single(_log.Faults, id => id == work.Id);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }

        if (Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }

    /// <summary>Each delivery began no earlier than its delay after the previous delivery's last attempt.</summary>
    private static void AssertWaited((int Redelivery, long Ticks, bool ThroughScheduler)[] attempts)
    {
        for (var redelivery = 1; redelivery <= Intervals.Length; redelivery++)
        {
            var previous = attempts.Last(a => a.Redelivery == redelivery - 1).Ticks;
            var first = attempts.First(a => a.Redelivery == redelivery).Ticks;
            var waited = Stopwatch.GetElapsedTime(previous, first);
            Assert.True(waited >= Intervals[redelivery - 1] - TimeSpan.FromMilliseconds(50),
                $"redelivery {redelivery} came {waited} after the failed delivery before it; the delay is {Intervals[redelivery - 1]}");
        }
    }

    private async Task SendAsync(RedeliveryProbeWork work)
    {
        var endpoint = await _host!.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{RedeliveryProbeConsumerDefinition.Queue}"));
        await endpoint.Send(work);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the message was not {what} within 30 s");
            }
        }
    }
}
