using MassTransit.Scheduling;
using Quartz;

namespace Sagas.Messaging.Scheduling.Endpoint;

internal static class RecurringTriggers
{
    public static ITrigger Build(
        TriggerKey key,
        JobKey job,
        string cron,
        TimeZoneInfo timeZone,
        MissedEventPolicy misfirePolicy,
        DateTimeOffset? startTime,
        DateTimeOffset? endTime,
        string? description)
    {
        var builder = TriggerBuilder.Create()
            .WithIdentity(key)
            .ForJob(job)
            .WithDescription(description)
            .WithRetryPolicy(ScheduledJobData.SendRetryPolicy)
            .WithCronSchedule(cron, schedule => schedule
                .InTimeZone(timeZone)
                .WithMisfireInstruction(MisfireInstruction(misfirePolicy)));

        if (startTime is { } start && start > DateTimeOffset.MinValue)
            builder = builder.StartAt(start);
        if (endTime is { } end)
            builder = builder.EndAt(end);
        return builder.Build();
    }

    public static CronTriggerMisfireInstruction MisfireInstruction(MissedEventPolicy policy) => policy switch
    {
        // Skip: a missed tick is dropped and the schedule waits for its next time.
        MissedEventPolicy.Skip => CronTriggerMisfireInstruction.DoNothing,
        // Send (and Quartz's smart policy, the default): one catch-up fire, then back on schedule.
        MissedEventPolicy.Send => CronTriggerMisfireInstruction.FireAndProceed,
        _ => CronTriggerMisfireInstruction.SmartPolicy,
    };

    /// <summary>A time zone by IANA or Windows id; empty means UTC (MassTransit clients may omit it).</summary>
    public static TimeZoneInfo? FindTimeZone(string? id)
    {
        if (string.IsNullOrWhiteSpace(id))
            return TimeZoneInfo.Utc;
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (TimeZoneNotFoundException)
        {
            return null;
        }
        catch (InvalidTimeZoneException)
        {
            return null;
        }
    }
}
