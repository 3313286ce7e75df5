namespace Sagas.Contracts.Scheduling;

/// <summary>Asks a process with the scheduler role for the recurring schedules it holds.</summary>
public sealed record ListRecurringSchedules(Guid RequestId);

public sealed record RecurringSchedulesListed(IReadOnlyList<RecurringScheduleView> Schedules);

/// <summary>Asks a process with the scheduler role to pause or resume one recurring schedule, by name.</summary>
public sealed record SetRecurringSchedulePaused(string Name, bool Paused);

/// <summary>The answer to <see cref="SetRecurringSchedulePaused"/>: the schedule as it now stands.</summary>
public sealed record RecurringScheduleUpdated(RecurringScheduleView Schedule);

/// <summary>The answer to <see cref="SetRecurringSchedulePaused"/> when no schedule of that name is registered.</summary>
public sealed record RecurringScheduleNotFound(string Name);

public sealed record RecurringScheduleView(
    string Name,
    string Cron,
    string TimeZone,
    bool Enabled,
    bool Paused,
    DateTimeOffset? NextFireTime,
    DateTimeOffset? PreviousFireTime,
    string Destination);
