using MassTransit;

namespace Sagas.Messaging.Scheduling.Endpoint;

/// <summary>The scheduler queue's name, from <c>Messaging:SchedulerQueue</c>.</summary>
public sealed record SchedulerQueue(string Name);

public sealed class SchedulerEndpointDefinition : ConsumerDefinition<SchedulerEndpointConsumer>
{
    public SchedulerEndpointDefinition(SchedulerQueue queue)
    {
        EndpointName = queue.Name;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<SchedulerEndpointConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        // A database hiccup is worth a few quick retries; a request that can never work goes straight to the error queue.
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Intervals(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
            retry.Ignore<InvalidScheduleException>();
        });
    }
}
