using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sagas.Messaging;
using Sagas.Messaging.SagaRepository;

namespace Sagas.Benchmarks.SagaThroughput;

/// <summary>Every event for one instance adds one: at the end the tally must equal the number of events sent.</summary>
public sealed record AddToTally(Guid TallyId, int Sequence);

public sealed class TallyState : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }

    public int Version { get; set; }

    public string CurrentState { get; set; } = "";

    public int Total { get; set; }
}

public sealed class TallyStateMachine : MassTransitStateMachine<TallyState>
{
    public TallyStateMachine()
    {
        InstanceState(x => x.CurrentState);
        Event(() => Added, x => x.CorrelateById(context => context.Message.TallyId));

        Initially(When(Added).Then(context => context.Saga.Total = 1).TransitionTo(Counting));
        During(Counting, When(Added).Then(context => context.Saga.Total++));
    }

    public State Counting { get; private set; } = null!;

    public Event<AddToTally> Added { get; private set; } = null!;
}

/// <summary>The endpoint as a workflow saga would have it, plus the scenario's partitioner.</summary>
public sealed class TallyStateDefinition : SagaDefinition<TallyState>
{
    private readonly TallyScenario _scenario;

    public TallyStateDefinition(TallyScenario scenario)
    {
        _scenario = scenario;
        Endpoint(e => e.Name = scenario.QueueName);
        ConcurrentMessageLimit = scenario.ConcurrentMessageLimit;
    }

    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<TallyState> sagaConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = _scenario.PrefetchCount;
        // Outside the retry: a partition stays taken while its event is retried, so one instance never runs twice at once.
        if (_scenario.Partitions > 0)
            endpointConfigurator.UsePartitioner<AddToTally>(endpointConfigurator.CreatePartitioner(_scenario.Partitions), x => x.Message.TallyId);
        endpointConfigurator.UseDatabaseRetryWithOutbox(context);
    }
}

public sealed class TallyDbContext(DbContextOptions<TallyDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.ApplyConfiguration(new TallyStateMap());
}

public sealed class TallyStateMap : SagaStateMap<TallyState>
{
    protected override void ConfigureState(EntityTypeBuilder<TallyState> builder)
    {
        builder.ToTable("tally_state");
        builder.Property(x => x.CurrentState).HasMaxLength(64);
    }
}
