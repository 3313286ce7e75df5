using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;

namespace Sagas.Integration.Tests.Faults;

public sealed record FaultProbe(Guid ProbeId);

public sealed class FaultProbeLog
{
    public ConcurrentDictionary<Guid, int> Deliveries { get; } = new();
}

public sealed class FaultProbeConsumer(FaultProbeLog log) : IConsumer<FaultProbe>
{
    public const string Queue = "fault-probe";

    public Task Consume(ConsumeContext<FaultProbe> context)
    {
        log.Deliveries.AddOrUpdate(context.Message.ProbeId, 1, (_, count) => count + 1);
        return Task.CompletedTask;
    }
}

[Collection(FaultCollection.Name)]
public sealed class When_the_scheduler_is_killed_between_scheduling_and_firing(FaultServers servers)
{
    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_deliver_the_scheduled_message_once_from_its_successor()
    {
        var log = new FaultProbeLog();
        await using var scenario = await FaultScenario.StartAsync<RabbitMqTestTransport>(
            servers,
            x => x.AddConsumer<FaultProbeConsumer>().Endpoint(e => e.Name = FaultProbeConsumer.Queue),
            services => services.AddSingleton(log));
        var first = await scenario.StartWorkerAsync("scheduler-1", "scheduler");
        var probe = new FaultProbe(NewId.NextGuid());

        // Far enough ahead that the first scheduler stores the trigger (and usually acquires it: Quartz takes triggers
        // due within its idle wait ahead of time), and is killed, before it fires.
        var scheduled = await scenario.Services.GetRequiredService<IMessageScheduler>()
            .ScheduleSend(new Uri($"queue:{FaultProbeConsumer.Queue}"), DateTime.UtcNow.AddSeconds(20), probe);
        var trigger = scheduled.TokenId.ToString("N");
        await scenario.WaitUntilAsync("the first scheduler stored the trigger", async () => await TriggerStateAsync(scenario, trigger) is "WAITING" or "ACQUIRED", TimeSpan.FromSeconds(30));
        first.Kill();
        var stateAtKill = await TriggerStateAsync(scenario, trigger);
        Assert.False(log.Deliveries.ContainsKey(probe.ProbeId), $"the probe was delivered before the scheduler was killed (trigger {stateAtKill})");
        Assert.Contains(stateAtKill, new[] { "WAITING", "ACQUIRED" });

        await scenario.StartWorkerAsync("scheduler-2", "scheduler");
        await scenario.WaitUntilAsync("the probe was delivered", () => Task.FromResult(log.Deliveries.ContainsKey(probe.ProbeId)), TimeSpan.FromMinutes(1));
        // A one-off trigger is deleted once it has fired for good: after that no second delivery can come.
        await scenario.WaitUntilAsync("the trigger is gone", async () => await TriggerStateAsync(scenario, trigger) is null, TimeSpan.FromSeconds(30));
        await scenario.WaitForQuietBrokerAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, log.Deliveries[probe.ProbeId]);
    }

    private static async Task<string?> TriggerStateAsync(FaultScenario scenario, string trigger)
    {
        await using var connection = new NpgsqlConnection(scenario.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT trigger_state FROM qrtz_triggers WHERE trigger_name = @name", connection);
        command.Parameters.AddWithValue("name", trigger);
        return await command.ExecuteScalarAsync() as string;
    }
}
