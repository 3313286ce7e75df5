using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Quartz;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;
using Sagas.Messaging.Scheduling.Recurring;

namespace Sagas.Integration.Tests.Scheduling;

public sealed class When_a_feature_declares_a_recurring_schedule(PostgresDatabase database, RabbitMqTestTransport broker)
    : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqTestTransport>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(8);

    private readonly ProbeDeliveries _deliveries = new();

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_fire_it_and_list_it_with_its_fire_times()
    {
        var id = NewId.NextGuid();
        await using var client = await StartClientAsync();
        await using var scheduler = await StartSchedulerAsync("listed-tick", id);

        await _deliveries.WaitForCountAsync(id, 2, Deadline);
        var listed = Assert.Single(await Service(scheduler).ListAsync(CancellationToken.None), schedule => schedule.Name == "listed-tick");

        Assert.Equal("* * * * * ?", listed.Cron);
        Assert.Equal("UTC", listed.TimeZone);
        Assert.False(listed.Paused);
        Assert.NotNull(listed.NextFireTime);
        Assert.NotNull(listed.PreviousFireTime);
        Assert.Equal(new Uri($"queue:{ProbeConsumer.QueueName}"), listed.Destination);
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_keep_one_trigger_and_its_pause_across_restarts_and_take_the_configured_cron()
    {
        var id = NewId.NextGuid();
        await using var client = await StartClientAsync();
        await using (var first = await StartSchedulerAsync("kept-tick", id))
        {
            await _deliveries.WaitForCountAsync(id, 1, Deadline);
            Assert.True(await Service(first).PauseAsync("kept-tick", CancellationToken.None));
            Assert.False(await Service(first).PauseAsync("no-such-schedule", CancellationToken.None));
        }

        await using (var unchanged = await StartSchedulerAsync("kept-tick", id))
        {
            // Left as it was: still paused, and its last fire is remembered (a replaced trigger would have none).
            var kept = Assert.Single(await Service(unchanged).ListAsync(CancellationToken.None), schedule => schedule.Name == "kept-tick");
            Assert.True(kept.Paused);
            Assert.NotNull(kept.PreviousFireTime);
        }

        await using var second = await StartSchedulerAsync("kept-tick", id, cron: "*/2 * * * * ?");
        var listed = Assert.Single(await Service(second).ListAsync(CancellationToken.None), schedule => schedule.Name == "kept-tick");
        Assert.Equal("*/2 * * * * ?", listed.Cron);
        Assert.True(listed.Paused);
        var triggers = await (await second.QuartzAsync()).GetTriggerKeys(GroupMatcher<TriggerKey>.GroupEquals(ResolvedRecurringSchedule.QuartzGroup));
        Assert.Single(triggers, key => key.Name == "kept-tick");

        var beforeResume = _deliveries.Of(id).Count;
        Assert.True(await Service(second).ResumeAsync("kept-tick", CancellationToken.None));
        await _deliveries.WaitForCountAsync(id, beforeResume + 1, Deadline);
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_remove_a_schedule_that_configuration_disables()
    {
        var id = NewId.NextGuid();
        await using (var first = await StartSchedulerAsync("disabled-tick", id))
            Assert.True(await (await first.QuartzAsync()).Exists(new TriggerKey("disabled-tick", ResolvedRecurringSchedule.QuartzGroup)));

        await using var second = await StartSchedulerAsync("disabled-tick", id, enabled: false);
        Assert.False(await (await second.QuartzAsync()).Exists(new JobKey("disabled-tick", ResolvedRecurringSchedule.QuartzGroup)));
        var listed = Assert.Single(await Service(second).ListAsync(CancellationToken.None), schedule => schedule.Name == "disabled-tick");
        Assert.False(listed.Enabled);
        Assert.Null(listed.NextFireTime);
    }

    private Task<SchedulingNode> StartClientAsync() => SchedulingNode.StartAsync("none", broker, database.ConnectionString, _deliveries);

    private Task<SchedulingNode> StartSchedulerAsync(string name, Guid probeId, string? cron = null, bool enabled = true) =>
        SchedulingNode.StartAsync(
            "scheduler",
            broker,
            database.ConnectionString,
            services: services => services.AddRecurringSchedule(name, "* * * * * ?", ProbeConsumer.QueueName, () => new SchedulingProbe(probeId, name)),
            settings: new Dictionary<string, string?>
            {
                [$"Scheduling:Schedules:{name}:Cron"] = cron,
                [$"Scheduling:Schedules:{name}:Enabled"] = enabled ? "true" : "false",
            });

    private static IRecurringScheduleService Service(SchedulingNode node) => node.Services.GetRequiredService<IRecurringScheduleService>();
}
