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
        // The store unreachable (PostgreSQL restarting or down for minutes): hold the request and try again until it is
        // back. Nothing else can keep it: scheduled redelivery would go through this very queue, and the redeliveries of
        // every other endpoint arrive here during a database outage. What is not yet consumed waits on the broker.
        var tolerance = (context.GetService(typeof(SchedulingOptions)) as SchedulingOptions ?? new SchedulingOptions()).StoreOutageTolerance;
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(DatabaseErrors.IsTransient);
            retry.Intervals(StoreOutageIntervals(tolerance));
        });

        // Anything else is worth a few quick retries; a request that can never work goes straight to the error queue.
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(exception => !DatabaseErrors.IsTransient(exception));
            retry.Intervals(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
            retry.Ignore<InvalidScheduleException>();
        });
    }

    /// <summary>Quick at first (a blip), then every 30 s, adding up to at least <paramref name="tolerance"/>.</summary>
    public static TimeSpan[] StoreOutageIntervals(TimeSpan tolerance)
    {
        TimeSpan[] ramp = [TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15)];
        var intervals = new List<TimeSpan>();
        var total = TimeSpan.Zero;
        while (total < tolerance)
        {
            var next = intervals.Count < ramp.Length ? ramp[intervals.Count] : TimeSpan.FromSeconds(30);
            intervals.Add(next);
            total += next;
        }

        return [.. intervals];
    }
}
