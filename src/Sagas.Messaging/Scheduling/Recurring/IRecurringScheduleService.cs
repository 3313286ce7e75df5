namespace Sagas.Messaging.Scheduling.Recurring;

/// <summary>The recurring schedules declared in code, as the scheduler currently holds them.</summary>
public interface IRecurringScheduleService
{
    Task<IReadOnlyList<RecurringScheduleStatus>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Stops the schedule firing until resumed (kept across restarts); false when no such schedule is registered.</summary>
    Task<bool> PauseAsync(string name, CancellationToken cancellationToken);

    /// <summary>Lets a paused schedule fire again from its next time; false when no such schedule is registered.</summary>
    Task<bool> ResumeAsync(string name, CancellationToken cancellationToken);
}

public sealed record RecurringScheduleStatus(
    string Name,
    string Cron,
    string TimeZone,
    bool Enabled,
    bool Paused,
    DateTimeOffset? NextFireTime,
    DateTimeOffset? PreviousFireTime,
    Uri Destination);
