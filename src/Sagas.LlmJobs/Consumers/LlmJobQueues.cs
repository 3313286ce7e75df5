using MassTransit;

namespace Sagas.LlmJobs.Consumers;

/// <summary>The LLM job queues' one setting of their own.</summary>
internal static class LlmJobQueues
{
    public const int HighestPriority = 2;

    /// <summary>High-priority jobs overtake low-priority ones on RabbitMQ (classic queues; quorum queues ignore it).</summary>
    public static void UsePriorities(IReceiveEndpointConfigurator endpoint)
    {
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.SetQueueArgument("x-max-priority", (byte)HighestPriority);
    }
}
