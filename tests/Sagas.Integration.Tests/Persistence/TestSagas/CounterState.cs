using MassTransit;

namespace Sagas.Integration.Tests.Persistence.TestSagas;

public sealed class CounterState : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }

    public int Version { get; set; }

    public string CurrentState { get; set; } = "";

    public string Group { get; set; } = "";

    public int Count { get; set; }

    public int Peeks { get; set; }

    public int Resets { get; set; }
}

/// <summary>A state type that no DbContext maps: its messages must fail with a clear error.</summary>
public sealed class UnmappedState : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }

    public int Version { get; set; }

    public string CurrentState { get; set; } = "";
}
