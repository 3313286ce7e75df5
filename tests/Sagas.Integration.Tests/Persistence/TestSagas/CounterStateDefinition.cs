using MassTransit;
using Sagas.Messaging;

namespace Sagas.Integration.Tests.Persistence.TestSagas;

/// <summary>How a test wants the counter endpoint: the negative control turns the persistence retry off.</summary>
public sealed record CounterEndpointSettings(bool RetryTransientFailures = true, int ConcurrentMessageLimit = 32);

public sealed class CounterStateDefinition : SagaDefinition<CounterState>
{
    public const string QueueName = "counter";

    private readonly CounterEndpointSettings _settings;

    public CounterStateDefinition(CounterEndpointSettings settings)
    {
        _settings = settings;
        Endpoint(e => e.Name = QueueName);
        ConcurrentMessageLimit = settings.ConcurrentMessageLimit;
    }

    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<CounterState> sagaConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = _settings.ConcurrentMessageLimit;
        if (_settings.RetryTransientFailures)
            endpointConfigurator.UseDatabaseRetryWithOutbox(context);
        else
            endpointConfigurator.UseInMemoryOutbox(context);
    }
}

/// <summary>Shares the counter's queue, so a failing unmapped saga is seen not to stop its neighbours.</summary>
public sealed class UnmappedStateDefinition : SagaDefinition<UnmappedState>
{
    public UnmappedStateDefinition() => Endpoint(e => e.Name = CounterStateDefinition.QueueName);
}
