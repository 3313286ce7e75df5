using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Scheduling;

namespace Sagas.Integration.Tests.Transports.AmazonSqs;

/// <summary>
/// A saga timeout on SQS goes through the scheduler queue and the Quartz endpoint (PostgreSQL job store), exactly as on
/// RabbitMQ: one process runs the scheduler role, another the saga.
/// </summary>
public sealed class When_a_state_machine_schedules_a_timeout_on_amazon_sqs(PostgresDatabase database, AmazonSqsTestTransport sqs)
    : IClassFixture<PostgresDatabase>, IClassFixture<AmazonSqsTestTransport>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [AmazonSqsFact(postgres: true)]
    public async Task Should_fire_it_through_the_quartz_endpoint()
    {
        await using var scheduler = await SchedulingNode.StartAsync("scheduler", sqs, database.ConnectionString);
        await using var sagas = await SchedulingNode.StartAsync(
            "none",
            sqs,
            database.ConnectionString,
            bus: x => x.AddSagaStateMachine<TimeoutProbeStateMachine, TimeoutProbeState>()
                .InMemoryRepository()
                .Endpoint(endpoint => endpoint.Name = TimeoutProbeStateMachine.QueueName));
        var id = NewId.NextGuid();

        await sagas.InScopeAsync(async provider =>
            await (await provider.GetRequiredService<ISendEndpointProvider>().GetSendEndpoint(TimeoutProbeStateMachine.Address)).Send(new StartTimeoutProbe(id)));

        var waiting = await Wait.UntilAsync(() => LoadAsync(sagas, id).Result is { ExpiryToken: not null } saga ? saga : null, Deadline, "the saga did not schedule its timeout");
        Assert.NotNull(waiting.ExpiryToken);
        // The in-memory repository hands out the live instance: it turns Expired a moment before its token is cleared.
        await Wait.UntilAsync(
            () => LoadAsync(sagas, id).Result is { CurrentState: nameof(TimeoutProbeStateMachine.Expired), ExpiryToken: null } saga ? saga : null,
            Deadline,
            "the timeout did not come back through the scheduler");
        // The schedule went through the scheduler queue, not a transport delay.
        Assert.Equal(0, await sqs.CountAsync("scheduler"));
    }

    private static Task<TimeoutProbeState?> LoadAsync(SchedulingNode node, Guid id) =>
        node.Services.GetRequiredService<ILoadSagaRepository<TimeoutProbeState>>().Load(id)!;
}
