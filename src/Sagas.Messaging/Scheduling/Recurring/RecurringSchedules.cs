using Quartz;
using Sagas.Core.Configuration;
using Sagas.Messaging.Scheduling.Endpoint;

namespace Sagas.Messaging.Scheduling.Recurring;

/// <summary>A declared schedule after the operator's overrides; validated.</summary>
public sealed record ResolvedRecurringSchedule(RecurringScheduleDeclaration Declaration, string Cron, TimeZoneInfo TimeZone, bool Enabled)
{
    /// <summary>Group of the Quartz jobs and triggers of declared schedules, apart from those MassTransit clients create.</summary>
    public const string QuartzGroup = "sagas-recurring";

    public string Name => Declaration.Name;

    public JobKey JobKey => new(Name, QuartzGroup);

    public TriggerKey TriggerKey => new(Name, QuartzGroup);
}

public static class RecurringSchedules
{
    /// <summary>Applies <c>Scheduling:Schedules</c> to the declarations and refuses, naming the schedule, what cannot run.</summary>
    public static IReadOnlyList<ResolvedRecurringSchedule> Resolve(IEnumerable<RecurringScheduleDeclaration> declarations, SchedulingOptions options)
    {
        var resolved = new List<ResolvedRecurringSchedule>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var declaration in declarations)
        {
            if (!seen.Add(declaration.Name))
                throw new SagasConfigurationException($"The recurring schedule '{declaration.Name}' is declared twice; schedule names must be unique.");

            var settings = options.Schedules.GetValueOrDefault(declaration.Name);
            var path = $"{SchedulingOptions.SectionName}:Schedules:{declaration.Name}";
            var cron = string.IsNullOrWhiteSpace(settings?.Cron) ? declaration.DefaultCron : settings.Cron.Trim();
            var cronSource = string.IsNullOrWhiteSpace(settings?.Cron) ? "its default cron" : $"{path}:Cron";
            try
            {
                CronExpression.Parse(cron);
            }
            catch (FormatException exception)
            {
                throw new SagasConfigurationException(
                    $"Recurring schedule '{declaration.Name}': {cronSource} '{cron}' is not a valid Quartz cron expression " +
                    $"(seconds minutes hours day-of-month month day-of-week [year], e.g. '0 0 2 * * ?' for 02:00 daily): {exception.Message}");
            }

            var timeZoneId = string.IsNullOrWhiteSpace(settings?.TimeZone) ? declaration.DefaultTimeZone : settings.TimeZone.Trim();
            var timeZone = RecurringTriggers.FindTimeZone(timeZoneId)
                ?? throw new SagasConfigurationException(
                    $"Recurring schedule '{declaration.Name}': time zone '{timeZoneId}' ({(string.IsNullOrWhiteSpace(settings?.TimeZone) ? "its default" : $"{path}:TimeZone")}) " +
                    "is not known on this machine; use an IANA id such as 'UTC' or 'Europe/Berlin'.");

            resolved.Add(new ResolvedRecurringSchedule(declaration, cron, timeZone, settings?.Enabled ?? true));
        }

        return resolved;
    }
}
