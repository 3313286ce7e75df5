using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Quartz;
using Sagas.Hosting;
using Sagas.Messaging.Scheduling;
using Sagas.Messaging.Scheduling.Endpoint;
using Sagas.Messaging.Scheduling.Recurring;
using Sagas.Workflows;

namespace Sagas.Components.Tests.Scheduling;

public sealed record InMemoryProbe(Guid Id);

/// <summary>
/// The embedded default (in-memory transport, SQLite) runs the same scheduler queue and Quartz endpoint as RabbitMQ,
/// with Quartz's in-memory store.
/// </summary>
public sealed class When_the_embedded_default_schedules_messages : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-scheduling-tests-" + Guid.NewGuid().ToString("N"));
    private readonly InMemoryProbeLog _received = new();
    private static readonly Uri ProbeQueue = new("queue:in-memory-probe");
    private readonly Guid _recurringId = Guid.NewGuid();
    private IHost? _host;

    public async Task InitializeAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Development", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:DataDirectory"] = _dataDirectory,
            ["Database:MigrateAtStartup"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
            // Wide enough that the second one-off below fires seconds ahead, in the first one's batch.
            ["Scheduling:FireAhead"] = "00:00:03",
        });
        builder.Services.AddSingleton(_received);
        builder.Services.AddRecurringSchedule("embedded-tick", "* * * * * ?", "in-memory-probe", () => new InMemoryProbe(_recurringId));
        builder.AddSagas("scheduling-tests", SagasWorkflows.Catalog, x => x.AddConsumer<InMemoryProbeConsumer>().Endpoint(e => e.Name = "in-memory-probe"));
        _host = builder.Build();
        await _host.StartAsync();
    }

    [Fact]
    public async Task Should_deliver_a_one_off_message_after_its_time_and_fire_recurring_schedules()
    {
        var id = Guid.NewGuid();
        var due = DateTime.UtcNow.AddSeconds(1);
        await using (var scope = _host!.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<IMessageScheduler>().ScheduleSend(new Uri("queue:in-memory-probe"), due, new InMemoryProbe(id));

        var delivered = await WaitForAsync(id, 1);
        await WaitForAsync(_recurringId, 2);

        Assert.True(delivered[0].At >= due, $"delivered at {delivered[0].At:O}, due {due:O}");
        var status = await _host.Services.GetRequiredService<ISchedulerStatus>().GetStatusAsync(CancellationToken.None);
        Assert.True(status.Ready, status.Description);
        Assert.Contains("in-memory store", status.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_hold_a_message_fired_ahead_until_its_time_and_drop_it_when_cancelled_meanwhile()
    {
        var (early, earlyDue) = (Guid.NewGuid(), DateTime.UtcNow.AddSeconds(1));
        var (held, heldDue) = (Guid.NewGuid(), DateTime.UtcNow.AddSeconds(2.5));
        var (cancelled, cancelledDue) = (Guid.NewGuid(), DateTime.UtcNow.AddSeconds(3));
        // A batch starts at its earliest trigger: the later two are stored before the earliest, whose arrival makes the
        // scheduler drop what it had acquired and take all three, so the later two are fired ahead.
        var quartz = await _host!.Services.GetRequiredService<SchedulerLifecycle>().GetSchedulerAsync(CancellationToken.None);
        ScheduledMessage<InMemoryProbe> toHold, toCancel;
        await using (var scope = _host.Services.CreateAsyncScope())
        {
            var scheduler = scope.ServiceProvider.GetRequiredService<IMessageScheduler>();
            toHold = await scheduler.ScheduleSend(ProbeQueue, heldDue, new InMemoryProbe(held));
            toCancel = await scheduler.ScheduleSend(ProbeQueue, cancelledDue, new InMemoryProbe(cancelled));
            await WaitUntilAsync(async () => await quartz.Exists(ScheduledJobData.OneOffTriggerKey(toHold.TokenId))
                && await quartz.Exists(ScheduledJobData.OneOffTriggerKey(toCancel.TokenId)), "the later one-offs were not stored");
            await scheduler.ScheduleSend(ProbeQueue, earlyDue, new InMemoryProbe(early));
        }

        var cancelledKey = ScheduledJobData.OneOffTriggerKey(toCancel.TokenId);
        await WaitUntilAsync(async () => await quartz.GetTriggerState(cancelledKey) == TriggerState.Executing, "the third one-off was not fired ahead");
        await using (var scope = _host.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<IMessageScheduler>().CancelScheduledSend(ProbeQueue, toCancel.TokenId);
        await WaitUntilAsync(async () => await quartz.GetTriggerState(cancelledKey) == TriggerState.None, "the cancelled trigger was not removed");
        Assert.True(DateTime.UtcNow < cancelledDue, "the cancel took effect only after the message was due; the test proves nothing");

        var delivered = await WaitForAsync(held, 1);
        Assert.True(delivered[0].At >= heldDue, $"delivered at {delivered[0].At:O}, due {heldDue:O}");
        Assert.True((await WaitForAsync(early, 1))[0].At >= earlyDue);

        // A later one-off through the same scheduler arrived: the cancelled one had its chance.
        var sentinel = Guid.NewGuid();
        await using (var scope = _host.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<IMessageScheduler>().ScheduleSend(ProbeQueue, cancelledDue.AddSeconds(0.5), new InMemoryProbe(sentinel));
        await WaitForAsync(sentinel, 1);
        Assert.Empty(_received.Of(cancelled));
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

    private async Task<List<(Guid Id, DateTime At)>> WaitForAsync(Guid id, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(8);
        while (true)
        {
            var matching = _received.Of(id);
            if (matching.Count >= count)
                return matching;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{id} arrived {matching.Count} of {count} times");
            await Task.Delay(25);
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(8);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException(failure);
            await Task.Delay(25);
        }
    }

    private sealed class InMemoryProbeConsumer(InMemoryProbeLog log) : IConsumer<InMemoryProbe>
    {
        public Task Consume(ConsumeContext<InMemoryProbe> context)
        {
            log.Record(context.Message.Id);
            return Task.CompletedTask;
        }
    }
}

internal sealed class InMemoryProbeLog
{
    private readonly List<(Guid Id, DateTime At)> _received = [];

    public void Record(Guid id)
    {
        lock (_received)
            _received.Add((id, DateTime.UtcNow));
    }

    public List<(Guid Id, DateTime At)> Of(Guid id)
    {
        lock (_received)
            return _received.Where(entry => entry.Id == id).ToList();
    }
}
