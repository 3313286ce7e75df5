using Quartz;

namespace Sagas.Messaging.Scheduling.Recurring;

internal sealed class RecurringScheduleService(SchedulerLifecycle lifecycle) : IRecurringScheduleService
{
    public async Task<IReadOnlyList<RecurringScheduleStatus>> ListAsync(CancellationToken cancellationToken)
    {
        var scheduler = await lifecycle.GetSchedulerAsync(cancellationToken);
        var result = new List<RecurringScheduleStatus>();
        foreach (var schedule in lifecycle.Schedules)
        {
            var trigger = schedule.Enabled ? await scheduler.GetTrigger(schedule.TriggerKey, cancellationToken) : null;
            var state = trigger is null ? TriggerState.None : await scheduler.GetTriggerState(schedule.TriggerKey, cancellationToken);
            result.Add(new RecurringScheduleStatus(
                schedule.Name,
                schedule.Cron,
                schedule.TimeZone.Id,
                schedule.Enabled,
                state == TriggerState.Paused,
                trigger?.NextFireTimeUtc,
                trigger?.PreviousFireTimeUtc,
                schedule.Declaration.DestinationAddress));
        }

        return result;
    }

    public async Task<bool> PauseAsync(string name, CancellationToken cancellationToken)
    {
        var (scheduler, key) = await FindAsync(name, cancellationToken);
        return key is not null && await scheduler.PauseTrigger(key, cancellationToken);
    }

    public async Task<bool> ResumeAsync(string name, CancellationToken cancellationToken)
    {
        var (scheduler, key) = await FindAsync(name, cancellationToken);
        return key is not null && await scheduler.ResumeTrigger(key, cancellationToken);
    }

    private async Task<(IScheduler Scheduler, TriggerKey? Key)> FindAsync(string name, CancellationToken cancellationToken)
    {
        var scheduler = await lifecycle.GetSchedulerAsync(cancellationToken);
        var schedule = lifecycle.Schedules.FirstOrDefault(candidate => string.Equals(candidate.Name, name, StringComparison.OrdinalIgnoreCase));
        if (schedule is null || !await scheduler.Exists(schedule.TriggerKey, cancellationToken))
            return (scheduler, null);
        return (scheduler, schedule.TriggerKey);
    }
}
