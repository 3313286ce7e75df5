using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Quartz;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;
using Sagas.Messaging.Scheduling.Endpoint;

namespace Sagas.Integration.Tests.Scheduling;

/// <summary>
/// The scheduler takes triggers from its clustered store up to <c>Scheduling:FireAhead</c> before they are due and
/// fires them in one batch; a message fired ahead waits for its own due time, and a cancel that arrives while it
/// waits still wins. The window is widened here so that "fired ahead" is seconds, not milliseconds.
/// </summary>
public sealed class When_the_scheduler_fires_triggers_ahead_of_their_time(PostgresDatabase database, RabbitMqTestTransport broker)
    : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqTestTransport>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private static readonly Dictionary<string, string?> WideWindow = new() { ["Scheduling:FireAhead"] = "00:00:04" };

    private readonly ProbeDeliveries _deliveries = new();

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_deliver_a_message_fired_ahead_no_earlier_than_its_due_time()
    {
        await using var scheduler = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString, settings: WideWindow);
        await using var client = await StartClientAsync();
        var (first, firstDue) = (NewId.NextGuid(), DateTime.UtcNow.AddSeconds(1));
        var (second, secondDue) = (NewId.NextGuid(), DateTime.UtcNow.AddSeconds(3.5));

        var token = await ScheduleLaterThenEarlierAsync(scheduler, client, (second, secondDue), (first, firstDue));
        await WaitUntilFiredAsync(scheduler, token);
        Assert.True(DateTime.UtcNow < secondDue, "the second message fired only when due; the test proves nothing");

        var delivered = await _deliveries.WaitForAsync(second, Deadline);
        Assert.True(delivered.ReceivedAt.UtcDateTime >= secondDue, $"delivered at {delivered.ReceivedAt:O}, due {secondDue:O}");
        Assert.True((await _deliveries.WaitForAsync(first, Deadline)).ReceivedAt.UtcDateTime >= firstDue);
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_not_deliver_a_message_cancelled_while_its_early_fire_waits()
    {
        await using var scheduler = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString, settings: WideWindow);
        await using var client = await StartClientAsync();
        var (kept, keptDue) = (NewId.NextGuid(), DateTime.UtcNow.AddSeconds(1));
        var (cancelled, cancelledDue) = (NewId.NextGuid(), DateTime.UtcNow.AddSeconds(4));

        var token = await ScheduleLaterThenEarlierAsync(scheduler, client, (cancelled, cancelledDue), (kept, keptDue));
        await WaitUntilFiredAsync(scheduler, token);
        await client.InScopeAsync(provider => provider.GetRequiredService<IMessageScheduler>().CancelScheduledSend(ProbeConsumer.Address, token));
        await Wait.UntilAsync(async () => await (await scheduler.QuartzAsync()).GetTriggerState(ScheduledJobData.OneOffTriggerKey(token)) == TriggerState.None,
            Deadline, "the cancelled trigger was not removed");
        Assert.True(DateTime.UtcNow < cancelledDue, "the cancel took effect only after the message was due; the test proves nothing");

        // A probe due after the cancelled one went through the same scheduler: the cancelled one had its chance.
        var sentinel = NewId.NextGuid();
        await ScheduleAsync(client, sentinel, cancelledDue.AddSeconds(0.5));
        await _deliveries.WaitForAsync(sentinel, Deadline);
        await _deliveries.WaitForAsync(kept, Deadline);
        Assert.Empty(_deliveries.Of(cancelled));
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_send_a_message_fired_ahead_before_its_scheduler_stops()
    {
        await using var client = await StartClientAsync();
        var (first, firstDue) = (NewId.NextGuid(), DateTime.UtcNow.AddSeconds(1));
        var (waiting, waitingDue) = (NewId.NextGuid(), DateTime.UtcNow.AddSeconds(3.5));
        var scheduler = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString, settings: WideWindow);
        try
        {
            await WaitUntilFiredAsync(scheduler, await ScheduleLaterThenEarlierAsync(scheduler, client, (waiting, waitingDue), (first, firstDue)));
        }
        finally
        {
            // The only scheduler stops while the second message's fire waits for its time.
            await scheduler.DisposeAsync();
        }

        var delivered = await _deliveries.WaitForAsync(waiting, Deadline);
        Assert.True(delivered.ReceivedAt.UtcDateTime >= waitingDue, $"delivered at {delivered.ReceivedAt:O}, due {waitingDue:O}");
    }

    private Task<SchedulingNode> StartClientAsync() => SchedulingNode.StartAsync("none", broker, database.ConnectionString, _deliveries);

    private static async Task<Guid> ScheduleAsync(SchedulingNode client, Guid id, DateTime due)
    {
        var scheduled = await client.InScopeAsync(provider => provider.GetRequiredService<IMessageScheduler>()
            .ScheduleSend(ProbeConsumer.Address, due, new SchedulingProbe(id, "ahead")));
        return scheduled.TokenId;
    }

    // A batch starts at its earliest trigger and takes those due within the window after it, so the later message is
    // only fired ahead if it is already stored when the earlier one is acquired: it is stored first, and the earlier
    // one, arriving after, makes the scheduler drop what it had acquired and take both. Returns the later one's token.
    private static async Task<Guid> ScheduleLaterThenEarlierAsync(SchedulingNode scheduler, SchedulingNode client, (Guid Id, DateTime Due) later, (Guid Id, DateTime Due) earlier)
    {
        var token = await ScheduleAsync(client, later.Id, later.Due);
        await Wait.UntilAsync(async () => await (await scheduler.QuartzAsync()).Exists(ScheduledJobData.OneOffTriggerKey(token)), Deadline, $"schedule {token} was not stored");
        await ScheduleAsync(client, earlier.Id, earlier.Due);
        return token;
    }

    // The clustered store marks a trigger executing when it fires it, and keeps it so until its job returns.
    private static Task WaitUntilFiredAsync(SchedulingNode scheduler, Guid token) =>
        Wait.UntilAsync(async () => await (await scheduler.QuartzAsync()).GetTriggerState(ScheduledJobData.OneOffTriggerKey(token)) == TriggerState.Executing,
            Deadline, $"schedule {token} was not fired");
}
