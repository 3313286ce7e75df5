using MassTransit;

namespace Sagas.Integration.Tests.Persistence.TestSagas;

public sealed class CounterStateMachine : MassTransitStateMachine<CounterState>
{
    public CounterStateMachine()
    {
        InstanceState(x => x.CurrentState);

        Event(() => Incremented, x => x.CorrelateById(context => context.Message.CounterId));
        Event(() => EagerlyIncremented, x =>
        {
            x.CorrelateById(context => context.Message.CounterId);
            x.InsertOnInitial = true;
            x.SetSagaFactory(context => new CounterState { CorrelationId = context.Message.CounterId, Group = "eager" });
        });
        Event(() => Peeked, x =>
        {
            x.CorrelateById(context => context.Message.CounterId);
            x.ReadOnly = true;
        });
        Event(() => Finished, x => x.CorrelateById(context => context.Message.CounterId));
        Event(() => Exploded, x => x.CorrelateById(context => context.Message.CounterId));
        Event(() => NudgedOrDiscarded, x =>
        {
            x.CorrelateById(context => context.Message.CounterId);
            x.OnMissingInstance(m => m.Discard());
        });
        Event(() => NudgedOrFaulted, x =>
        {
            x.CorrelateById(context => context.Message.CounterId);
            x.OnMissingInstance(m => m.Fault());
        });
        Event(() => NudgedOrExecuted, x =>
        {
            x.CorrelateById(context => context.Message.CounterId);
            x.OnMissingInstance(m => m.ExecuteAsync(context => context.Publish(new CounterWasMissing(context.Message.CounterId))));
        });
        Event(() => GroupReset, x =>
        {
            x.CorrelateBy((saga, context) => saga.Group == context.Message.Group);
            x.OnMissingInstance(m => m.Discard());
        });

        Initially(
            When(Incremented)
                .Then(context =>
                {
                    context.Saga.Group = context.Message.Group;
                    context.Saga.Count = 1;
                })
                .Publish(context => new CounterIncremented(context.Saga.CorrelationId, context.Saga.Count))
                .TransitionTo(Active),
            When(EagerlyIncremented)
                .Then(context => context.Saga.Count = 1)
                .TransitionTo(Active));

        During(Active,
            When(Incremented)
                .Then(context => context.Saga.Count++)
                .Publish(context => new CounterIncremented(context.Saga.CorrelationId, context.Saga.Count)),
            When(EagerlyIncremented).Then(context => context.Saga.Count++),
            When(Peeked)
                .Then(context => context.Saga.Peeks++)
                .Publish(context => new CounterPeeked(context.Saga.CorrelationId, context.Saga.Count)),
            When(NudgedOrDiscarded).Then(context => context.Saga.Count += 100),
            When(NudgedOrFaulted).Then(context => context.Saga.Count += 100),
            When(NudgedOrExecuted).Then(context => context.Saga.Count += 100),
            When(GroupReset).Then(context =>
            {
                context.Saga.Count = 0;
                context.Saga.Resets++;
            }),
            When(Exploded)
                .Then(context => context.Saga.Count = -1)
                .Then(_ => throw new InvalidOperationException("The counter exploded.")),
            When(Finished).Finalize());

        SetCompletedWhenFinalized();
    }

    public State Active { get; private set; } = null!;

    public Event<IncrementCounter> Incremented { get; private set; } = null!;

    public Event<IncrementCounterEagerly> EagerlyIncremented { get; private set; } = null!;

    public Event<PeekCounter> Peeked { get; private set; } = null!;

    public Event<FinishCounter> Finished { get; private set; } = null!;

    public Event<ExplodeCounter> Exploded { get; private set; } = null!;

    public Event<NudgeOrDiscard> NudgedOrDiscarded { get; private set; } = null!;

    public Event<NudgeOrFault> NudgedOrFaulted { get; private set; } = null!;

    public Event<NudgeOrExecute> NudgedOrExecuted { get; private set; } = null!;

    public Event<ResetGroup> GroupReset { get; private set; } = null!;
}

public sealed class UnmappedStateMachine : MassTransitStateMachine<UnmappedState>
{
    public UnmappedStateMachine()
    {
        InstanceState(x => x.CurrentState);
        Event(() => Touched, x => x.CorrelateById(context => context.Message.Id));
        Initially(When(Touched).TransitionTo(Touching));
    }

    public State Touching { get; private set; } = null!;

    public Event<TouchUnmapped> Touched { get; private set; } = null!;
}
