using MassTransit;
using Sagas.Contracts.Scheduling;

namespace Sagas.Messaging.Scheduling.Recurring;

/// <summary>
/// Answers schedule requests from processes without the scheduler role (the API, usually) with this process's
/// <see cref="IRecurringScheduleService"/>. Any scheduler process may answer: on PostgreSQL they share one clustered
/// Quartz store, so a pause made by one holds for all of them.
/// </summary>
public sealed class RecurringScheduleRequestConsumer(IRecurringScheduleService schedules) :
    IConsumer<ListRecurringSchedules>,
    IConsumer<SetRecurringSchedulePaused>
{
    public async Task Consume(ConsumeContext<ListRecurringSchedules> context)
    {
        var list = await schedules.ListAsync(context.CancellationToken);
        await context.RespondAsync(new RecurringSchedulesListed([.. list.Select(ToView)]));
    }

    public async Task Consume(ConsumeContext<SetRecurringSchedulePaused> context)
    {
        var (name, paused) = (context.Message.Name, context.Message.Paused);
        var changed = paused
            ? await schedules.PauseAsync(name, context.CancellationToken)
            : await schedules.ResumeAsync(name, context.CancellationToken);
        var current = changed
            ? (await schedules.ListAsync(context.CancellationToken)).FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
            : null;
        if (current is null)
            await context.RespondAsync(new RecurringScheduleNotFound(name));
        else
            await context.RespondAsync(new RecurringScheduleUpdated(ToView(current)));
    }

    public static RecurringScheduleView ToView(RecurringScheduleStatus status) => new(
        status.Name, status.Cron, status.TimeZone, status.Enabled, status.Paused, status.NextFireTime, status.PreviousFireTime, status.Destination.ToString());
}

/// <summary>A small queue of its own, so schedule requests never wait behind a burst of scheduled messages.</summary>
public sealed class RecurringScheduleRequestConsumerDefinition : ConsumerDefinition<RecurringScheduleRequestConsumer>
{
    public const string QueueSuffix = "-schedules";

    public RecurringScheduleRequestConsumerDefinition(Endpoint.SchedulerQueue queue)
    {
        EndpointName = queue.Name + QueueSuffix;
        ConcurrentMessageLimit = 4;
    }
}
