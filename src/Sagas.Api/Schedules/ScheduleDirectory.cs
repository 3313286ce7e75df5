using MassTransit;
using Sagas.Api.Infrastructure;
using Sagas.Contracts.Scheduling;
using Sagas.Messaging.Scheduling.Recurring;

namespace Sagas.Api.Schedules;

/// <summary>No process with the scheduler role answered in time.</summary>
public sealed class SchedulerUnreachableException(TimeSpan waited, Exception inner)
    : Exception($"No scheduler answered within {waited.TotalSeconds:0.#} s.", inner)
{
    public TimeSpan Waited { get; } = waited;
}

/// <summary>
/// The recurring schedules as the scheduler holds them. A process with the scheduler role asks its own Quartz
/// scheduler; any other process (the API, usually) asks over the bus, where a scheduler process answers.
/// </summary>
public interface IScheduleDirectory
{
    Task<IReadOnlyList<RecurringScheduleView>> ListAsync(CancellationToken cancellationToken);

    /// <summary>The schedule after the change, or null when no schedule of that name is registered.</summary>
    Task<RecurringScheduleView?> SetPausedAsync(string name, bool paused, CancellationToken cancellationToken);
}

internal sealed class LocalScheduleDirectory(IRecurringScheduleService schedules) : IScheduleDirectory
{
    public async Task<IReadOnlyList<RecurringScheduleView>> ListAsync(CancellationToken cancellationToken) =>
        [.. (await schedules.ListAsync(cancellationToken)).Select(RecurringScheduleRequestConsumer.ToView)];

    public async Task<RecurringScheduleView?> SetPausedAsync(string name, bool paused, CancellationToken cancellationToken)
    {
        var changed = paused ? await schedules.PauseAsync(name, cancellationToken) : await schedules.ResumeAsync(name, cancellationToken);
        if (!changed)
            return null;
        return (await ListAsync(cancellationToken)).FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
    }
}

internal sealed class RemoteScheduleDirectory(
    IRequestClient<ListRecurringSchedules> lister,
    IRequestClient<SetRecurringSchedulePaused> changer,
    ApiOptions options) : IScheduleDirectory
{
    public async Task<IReadOnlyList<RecurringScheduleView>> ListAsync(CancellationToken cancellationToken)
    {
        try
        {
            var response = await lister.GetResponse<RecurringSchedulesListed>(new ListRecurringSchedules(NewId.NextGuid()), cancellationToken, Timeout);
            return response.Message.Schedules;
        }
        catch (RequestTimeoutException exception)
        {
            throw new SchedulerUnreachableException(options.SchedulerRequestTimeout, exception);
        }
    }

    public async Task<RecurringScheduleView?> SetPausedAsync(string name, bool paused, CancellationToken cancellationToken)
    {
        try
        {
            var response = await changer.GetResponse<RecurringScheduleUpdated, RecurringScheduleNotFound>(new SetRecurringSchedulePaused(name, paused), cancellationToken, Timeout);
            return response.Is(out Response<RecurringScheduleUpdated>? updated) ? updated.Message.Schedule : null;
        }
        catch (RequestTimeoutException exception)
        {
            throw new SchedulerUnreachableException(options.SchedulerRequestTimeout, exception);
        }
    }

    private RequestTimeout Timeout => RequestTimeout.After(ms: (int)options.SchedulerRequestTimeout.TotalMilliseconds);
}
