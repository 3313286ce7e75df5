using System.Collections.Concurrent;
using MassTransit;
using MassTransit.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;

namespace Sagas.Integration.Tests.Scheduling;

public sealed class When_a_state_machine_schedules_a_timeout(PostgresDatabase database, RabbitMqTestTransport broker)
    : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqTestTransport>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(8);

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_fire_it_through_the_scheduler_and_ignore_a_stale_one()
    {
        var expiries = new ExpiryObserver();
        await using var scheduler = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString);
        await using var sagas = await SchedulingNode.StartAsync(
            "none",
            broker,
            database.ConnectionString,
            services: services => services.AddSingleton(expiries).AddConsumeObserver(provider => provider.GetRequiredService<ExpiryObserver>()),
            bus: x => x.AddSagaStateMachine<TimeoutProbeStateMachine, TimeoutProbeState>()
                .InMemoryRepository()
                .Endpoint(endpoint => endpoint.Name = TimeoutProbeStateMachine.QueueName));
        var id = NewId.NextGuid();

        await sagas.InScopeAsync(async provider =>
            await (await provider.GetRequiredService<ISendEndpointProvider>().GetSendEndpoint(TimeoutProbeStateMachine.Address)).Send(new StartTimeoutProbe(id)));
        // The in-memory repository hands out the live instance: its token is set before the send to the scheduler
        // queue completes and the transition follows it, so wait for both (under load the gap is long enough to see).
        var waiting = await Wait.UntilAsync(() => LoadAsync(sagas, id).Result is { ExpiryToken: not null, CurrentState: nameof(TimeoutProbeStateMachine.Waiting) } saga ? saga : null, Deadline, "the saga did not schedule its timeout");
        Assert.Equal(nameof(TimeoutProbeStateMachine.Waiting), waiting.CurrentState);
        var token = waiting.ExpiryToken!.Value;

        // A timeout carrying another token (left over from an earlier schedule) arrives first, through the same endpoint.
        var staleToken = NewId.NextGuid();
        var schedulerQueue = await sagas.InScopeAsync(provider => provider.GetRequiredService<ISendEndpointProvider>().GetSendEndpoint(new Uri("queue:scheduler")));
        await schedulerQueue.Send<ScheduleMessage>(new
        {
            CorrelationId = staleToken,
            ScheduledTime = DateTime.UtcNow.AddSeconds(0.5),
            PayloadType = new[] { MessageUrn.ForTypeString<TimeoutProbeExpired>() },
            Destination = TimeoutProbeStateMachine.Address,
            Payload = new TimeoutProbeExpired(id),
        });
        await Wait.UntilAsync(() => expiries.Tokens.Contains(staleToken) ? true : (bool?)null, Deadline, "the stale timeout was not delivered");
        Assert.Equal(nameof(TimeoutProbeStateMachine.Waiting), (await LoadAsync(sagas, id))!.CurrentState);

        // The live instance turns Expired inside the consume, before the observer's PostConsume records the token: wait
        // for both, then check that the timeout which expired it carried the saga's own token.
        var expired = await Wait.UntilAsync(
            () => LoadAsync(sagas, id).Result is { CurrentState: nameof(TimeoutProbeStateMachine.Expired) } saga && expiries.Tokens.Count >= 2 ? saga : null,
            Deadline,
            "the saga's own timeout did not expire it");
        Assert.Contains(token, expiries.Tokens);
        Assert.Null(expired.ExpiryToken);
    }

    private static Task<TimeoutProbeState?> LoadAsync(SchedulingNode node, Guid id) =>
        node.Services.GetRequiredService<ILoadSagaRepository<TimeoutProbeState>>().Load(id)!;

    private sealed class ExpiryObserver : IConsumeObserver
    {
        private readonly ConcurrentBag<Guid> _tokens = [];

        public IReadOnlyCollection<Guid> Tokens => _tokens;

        public Task PostConsume<T>(ConsumeContext<T> context)
            where T : class
        {
            if (context.Message is TimeoutProbeExpired && context.Headers.Get<Guid>(MessageHeaders.SchedulingTokenId) is { } token)
                _tokens.Add(token);
            return Task.CompletedTask;
        }

        public Task PreConsume<T>(ConsumeContext<T> context)
            where T : class => Task.CompletedTask;

        public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception)
            where T : class => Task.CompletedTask;
    }
}

public sealed record StartTimeoutProbe(Guid Id);

public sealed record TimeoutProbeExpired(Guid Id);

public sealed class TimeoutProbeState : SagaStateMachineInstance
{
    public Guid CorrelationId { get; set; }

    public string CurrentState { get; set; } = "";

    public Guid? ExpiryToken { get; set; }
}

/// <summary>The smallest saga with a timeout: Waiting until its scheduled expiry arrives, then Expired.</summary>
public sealed class TimeoutProbeStateMachine : MassTransitStateMachine<TimeoutProbeState>
{
    public const string QueueName = "timeout-probe-state";

    public static readonly Uri Address = new($"queue:{QueueName}");

    public TimeoutProbeStateMachine()
    {
        InstanceState(saga => saga.CurrentState);
        Event(() => Started, e => e.CorrelateById(context => context.Message.Id));
        Schedule(() => Expiry, saga => saga.ExpiryToken, schedule =>
        {
            schedule.Delay = TimeSpan.FromSeconds(2.5);
            schedule.Received = e => e.CorrelateById(context => context.Message.Id);
        });

        Initially(When(Started).Schedule(Expiry, context => new TimeoutProbeExpired(context.Saga.CorrelationId)).TransitionTo(Waiting));
        During(Waiting, When(Expiry!.Received).TransitionTo(Expired));
    }

    public State Waiting { get; private set; } = null!;

    public State Expired { get; private set; } = null!;

    public Event<StartTimeoutProbe> Started { get; private set; } = null!;

    public Schedule<TimeoutProbeState, TimeoutProbeExpired> Expiry { get; private set; } = null!;
}
