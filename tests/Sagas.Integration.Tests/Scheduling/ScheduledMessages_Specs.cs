using MassTransit;
using MassTransit.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Quartz;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;
using Sagas.Messaging.Scheduling.Endpoint;

namespace Sagas.Integration.Tests.Scheduling;

public sealed class When_messages_are_scheduled_through_the_scheduler_queue(PostgresDatabase database, RabbitMqTestTransport broker)
    : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqTestTransport>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(8);
    private static readonly Uri SchedulerQueue = new("queue:scheduler");

    private readonly ProbeDeliveries _deliveries = new();

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_deliver_once_and_not_before_its_time()
    {
        await using var scheduler = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString);
        await using var client = await StartClientAsync();
        var id = NewId.NextGuid();
        var due = DateTime.UtcNow.AddSeconds(2);

        var scheduled = await client.InScopeAsync(provider => provider.GetRequiredService<IMessageScheduler>()
            .ScheduleSend(ProbeConsumer.Address, due, new SchedulingProbe(id, "once"), Pipe.Execute<SendContext<SchedulingProbe>>(send => send.Headers.Set("X-Probe", "kept"))));
        var delivery = await _deliveries.WaitForAsync(id, Deadline);

        Assert.True(delivery.ReceivedAt.UtcDateTime >= due, $"delivered at {delivery.ReceivedAt:O}, due {due:O}");
        Assert.Equal(scheduled.TokenId, Guid.Parse(delivery.TokenHeader!));
        Assert.Equal("kept", delivery.CustomHeader);
        Assert.NotNull(delivery.QuartzScheduledHeader);
        await WaitForLaterProbeAsync(client);
        Assert.Single(_deliveries.Of(id));
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_deliver_the_original_message_id_conversation_and_correlation()
    {
        await using var scheduler = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString);
        await using var client = await StartClientAsync();
        var id = NewId.NextGuid();
        var messageId = NewId.NextGuid();
        var conversationId = NewId.NextGuid();
        var correlationId = NewId.NextGuid();

        await SendScheduleMessageAsync(client, NewId.NextGuid(), DateTime.UtcNow.AddSeconds(1), new SchedulingProbe(id, "ids"), send =>
        {
            send.MessageId = messageId;
            send.ConversationId = conversationId;
            send.CorrelationId = correlationId;
        });
        var delivery = await _deliveries.WaitForAsync(id, Deadline);

        Assert.Equal(messageId, delivery.MessageId);
        Assert.Equal(conversationId, delivery.ConversationId);
        Assert.Equal(correlationId, delivery.CorrelationId);
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_never_deliver_a_cancelled_message()
    {
        await using var scheduler = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString);
        await using var client = await StartClientAsync();
        var id = NewId.NextGuid();
        var due = DateTime.UtcNow.AddSeconds(5);

        var scheduled = await client.InScopeAsync(provider => provider.GetRequiredService<IMessageScheduler>()
            .ScheduleSend(ProbeConsumer.Address, due, new SchedulingProbe(id, "cancelled")));
        await WaitUntilStoredAsync(scheduler, scheduled.TokenId);
        await client.InScopeAsync(provider => provider.GetRequiredService<IMessageScheduler>().CancelScheduledSend(ProbeConsumer.Address, scheduled.TokenId));
        await Wait.UntilAsync(async () => !await (await scheduler.QuartzAsync()).Exists(ScheduledJobData.OneOffTriggerKey(scheduled.TokenId)), Deadline, "the cancelled trigger was not removed");
        Assert.True(DateTime.UtcNow < due, "the cancellation took effect only after the message was due; the test proves nothing");

        await WaitForLaterProbeAsync(client, due - DateTime.UtcNow + TimeSpan.FromSeconds(1));
        Assert.Empty(_deliveries.Of(id));
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_replace_a_schedule_sent_again_with_the_same_token()
    {
        await using var scheduler = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString);
        await using var client = await StartClientAsync();
        var id = NewId.NextGuid();
        var token = NewId.NextGuid();

        await SendScheduleMessageAsync(client, token, DateTime.UtcNow.AddSeconds(1.5), new SchedulingProbe(id, "first"));
        await WaitUntilStoredAsync(scheduler, token);
        var secondDue = DateTime.UtcNow.AddSeconds(2.5);
        await SendScheduleMessageAsync(client, token, secondDue, new SchedulingProbe(id, "second"));
        var delivery = await _deliveries.WaitForAsync(id, Deadline);

        Assert.Equal("second", delivery.Label);
        Assert.True(delivery.ReceivedAt.UtcDateTime >= secondDue, $"delivered at {delivery.ReceivedAt:O}, due {secondDue:O}");
        await WaitForLaterProbeAsync(client);
        Assert.Single(_deliveries.Of(id));
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_deliver_after_a_scheduler_restart_between_scheduling_and_firing()
    {
        await using var client = await StartClientAsync();
        var id = NewId.NextGuid();
        var due = DateTime.UtcNow.AddSeconds(3);
        ScheduledMessage<SchedulingProbe> scheduled;

        await using (var first = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString))
        {
            scheduled = await client.InScopeAsync(provider => provider.GetRequiredService<IMessageScheduler>()
                .ScheduleSend(ProbeConsumer.Address, due, new SchedulingProbe(id, "survives")));
            await WaitUntilStoredAsync(first, scheduled.TokenId);
        }

        Assert.Empty(_deliveries.Of(id));
        await using var second = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString);
        var delivery = await _deliveries.WaitForAsync(id, Deadline);

        Assert.True(delivery.ReceivedAt.UtcDateTime >= due);
        Assert.Equal(scheduled.TokenId, Guid.Parse(delivery.TokenHeader!));
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_deliver_each_message_once_with_two_scheduler_instances()
    {
        await using var one = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString);
        await using var two = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString);
        await using var client = await StartClientAsync();
        var due = DateTime.UtcNow.AddSeconds(2);
        var ids = Enumerable.Range(0, 20).Select(_ => NewId.NextGuid()).ToList();

        await client.InScopeAsync(async provider =>
        {
            var scheduler = provider.GetRequiredService<IMessageScheduler>();
            foreach (var id in ids)
                await scheduler.ScheduleSend(ProbeConsumer.Address, due, new SchedulingProbe(id, "clustered"));
        });
        await Wait.UntilAsync(() => ids.All(id => _deliveries.Of(id).Count > 0) ? true : (bool?)null, Deadline, "not every clustered probe was delivered");

        await WaitForLaterProbeAsync(client);
        Assert.All(ids, id => Assert.Single(_deliveries.Of(id)));
        // Both were live members of one cluster, so either could have fired any of the triggers.
        var members = (await (await one.QuartzAsync()).QueryClusterNodes(CancellationToken.None)).Select(node => node.InstanceId).ToList();
        Assert.Contains((await one.QuartzAsync()).SchedulerInstanceId, members);
        Assert.Contains((await two.QuartzAsync()).SchedulerInstanceId, members);
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_fire_a_recurring_schedule_repeatedly_until_cancelled()
    {
        await using var scheduler = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString);
        await using var client = await StartClientAsync();
        var id = NewId.NextGuid();
        var schedule = new ProbeSchedule($"probe-{id:N}", "every-second", "* * * * * ?");
        var endpoint = await client.InScopeAsync(provider => provider.GetRequiredService<ISendEndpointProvider>().GetSendEndpoint(SchedulerQueue));

        await endpoint.ScheduleRecurringSend(ProbeConsumer.Address, schedule, new SchedulingProbe(id, "recurring"));
        await _deliveries.WaitForCountAsync(id, 3, Deadline);
        await endpoint.CancelScheduledRecurringSend(schedule.ScheduleId, schedule.ScheduleGroup);
        await Wait.UntilAsync(async () => !await (await scheduler.QuartzAsync()).Exists(ScheduledJobData.RecurringTriggerKey(schedule.ScheduleId, schedule.ScheduleGroup)), Deadline, "the recurring trigger was not removed");
        await WaitForLaterProbeAsync(client, TimeSpan.FromSeconds(0.5));
        var afterCancel = _deliveries.Of(id).Count;

        await WaitForLaterProbeAsync(client, TimeSpan.FromSeconds(2));
        Assert.Equal(afterCancel, _deliveries.Of(id).Count);
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_pause_and_resume_a_recurring_schedule()
    {
        await using var scheduler = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString);
        await using var client = await StartClientAsync();
        var id = NewId.NextGuid();
        var schedule = new ProbeSchedule($"probe-{id:N}", "every-second", "* * * * * ?");
        var endpoint = await client.InScopeAsync(provider => provider.GetRequiredService<ISendEndpointProvider>().GetSendEndpoint(SchedulerQueue));
        var triggerKey = ScheduledJobData.RecurringTriggerKey(schedule.ScheduleId, schedule.ScheduleGroup);

        await endpoint.ScheduleRecurringSend(ProbeConsumer.Address, schedule, new SchedulingProbe(id, "paused"));
        await _deliveries.WaitForCountAsync(id, 1, Deadline);
        await endpoint.PauseScheduledRecurringSend(schedule.ScheduleId, schedule.ScheduleGroup);
        await Wait.UntilAsync(async () => await (await scheduler.QuartzAsync()).GetTriggerState(triggerKey) == TriggerState.Paused, Deadline, "the trigger was not paused");
        await WaitForLaterProbeAsync(client, TimeSpan.FromSeconds(0.5));
        var whilePaused = _deliveries.Of(id).Count;
        await WaitForLaterProbeAsync(client, TimeSpan.FromSeconds(2));
        Assert.Equal(whilePaused, _deliveries.Of(id).Count);

        await endpoint.ResumeScheduledRecurringSend(schedule.ScheduleId, schedule.ScheduleGroup);
        await _deliveries.WaitForCountAsync(id, whilePaused + 1, Deadline);
        await endpoint.CancelScheduledRecurringSend(schedule.ScheduleId, schedule.ScheduleGroup);
    }

    private Task<SchedulingNode> StartClientAsync() => SchedulingNode.StartAsync("none", broker, database.ConnectionString, _deliveries);

    private static async Task SendScheduleMessageAsync(SchedulingNode client, Guid token, DateTime due, SchedulingProbe probe, Action<SendContext>? configure = null)
    {
        var endpoint = await client.InScopeAsync(provider => provider.GetRequiredService<ISendEndpointProvider>().GetSendEndpoint(SchedulerQueue));
        await endpoint.Send<ScheduleMessage>(
            new
            {
                CorrelationId = token,
                ScheduledTime = due,
                PayloadType = new[] { MessageUrn.ForTypeString<SchedulingProbe>() },
                Destination = ProbeConsumer.Address,
                Payload = probe,
            },
            Pipe.Execute<SendContext>(send => configure?.Invoke(send)));
    }

    private static Task WaitUntilStoredAsync(SchedulingNode scheduler, Guid token) =>
        Wait.UntilAsync(async () => await (await scheduler.QuartzAsync()).Exists(ScheduledJobData.OneOffTriggerKey(token)), Deadline, $"schedule {token} was not stored");

    // Lets the scheduler run past the moment a duplicate or a wrongly kept schedule would have fired: a later probe
    // through the same scheduler has arrived.
    private async Task WaitForLaterProbeAsync(SchedulingNode client, TimeSpan? after = null)
    {
        var sentinel = NewId.NextGuid();
        await client.InScopeAsync(provider => provider.GetRequiredService<IMessageScheduler>()
            .ScheduleSend(ProbeConsumer.Address, DateTime.UtcNow + (after ?? TimeSpan.FromSeconds(1)), new SchedulingProbe(sentinel, "sentinel")));
        await _deliveries.WaitForAsync(sentinel, Deadline);
    }
}

public sealed record ProbeSchedule(string ScheduleId, string ScheduleGroup, string CronExpression) : RecurringSchedule
{
    public string TimeZoneId => "UTC";

    public DateTimeOffset StartTime => DateTimeOffset.UtcNow;

    public DateTimeOffset? EndTime => null;

    public string Description => "test probe";

    public MissedEventPolicy MisfirePolicy => MissedEventPolicy.Skip;
}
