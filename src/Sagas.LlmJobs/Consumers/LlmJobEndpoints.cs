using MassTransit;
using Sagas.Persistence.SagaRepository;

namespace Sagas.LlmJobs.Consumers;

internal static class LlmJobEndpoints
{
    /// <summary>High-priority jobs overtake low-priority ones on RabbitMQ (classic queues; quorum queues ignore it).</summary>
    public static void UsePriorities(IReceiveEndpointConfigurator endpoint)
    {
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.SetQueueArgument("x-max-priority", (byte)LlmJobPriorityLevels.Highest);
    }

    /// <summary>Transient database errors (lock waits, a restarting server, an insert race) retried with a fresh DbContext.</summary>
    public static void UseDatabaseRetry(IReceiveEndpointConfigurator endpoint, IRegistrationContext context) =>
        endpoint.UseSagaPersistenceRetry(context);
}

internal static class LlmJobPriorityLevels
{
    public const int Highest = 2;
}
