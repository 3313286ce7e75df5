using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;

namespace Sagas.Messaging.Scheduling;

/// <summary>Section <c>Scheduling</c>: the Quartz scheduler behind the scheduler queue and the recurring schedules.</summary>
public sealed class SchedulingOptions
{
    public const string SectionName = "Scheduling";

    /// <summary>
    /// Quartz scheduler name. Every instance sharing one database must use the same name to form a cluster;
    /// two deployments sharing a database keep apart by using different names.
    /// </summary>
    [Required(ErrorMessage = "{0} is empty; every scheduler of one cluster needs the same name.")]
    public string InstanceName { get; set; } = "sagas";

    /// <summary>
    /// Concurrent Quartz fires per process, a fire waiting for its due time (<see cref="FireAhead"/>) included, and the
    /// most triggers one acquisition takes from the store: one at a time, the clustered store's lock round trip per
    /// trigger capped fires near 150/s. 30 and 50 were measured too and made the tail no shorter across runs
    /// (docs/performance.md). The store's connection pool keeps this many connections and a few more open.
    /// </summary>
    [Range(1, 200)]
    public int MaxConcurrency { get; set; } = 10;

    /// <summary>
    /// How far ahead of their due time triggers may be taken from the store and fired in one batch. A message fired
    /// ahead waits in this process until its due time, so none is delivered early, and is dropped if it was cancelled
    /// or paused meanwhile; it holds one of <see cref="MaxConcurrency"/> while it waits. Off by default: with 500 ms
    /// and 50 fires, 10,000 one-offs due in one minute queued up to 50 sessions on the store's lock and arrived with no
    /// shorter a tail than with the defaults (docs/performance.md, scheduler-precision).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:05")]
    public TimeSpan FireAhead { get; set; } = TimeSpan.Zero;

    /// <summary>How late a trigger may fire before it counts as misfired and its misfire policy applies.</summary>
    [AtLeast(typeof(TimeSpan), "00:00:01")]
    public TimeSpan MisfireThreshold { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a clustered instance reports itself alive; a silent instance's fires are recovered by the others.</summary>
    [AtLeast(typeof(TimeSpan), "00:00:01")]
    public TimeSpan ClusterCheckinInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a schedule request waits in the scheduler queue's consumer, retrying, while its store (PostgreSQL) is
    /// unreachable. Requests are only acknowledged once stored, so what arrives meanwhile stays on the broker; this
    /// bounds how long one delivery is held. RabbitMQ closes a channel whose delivery is unacknowledged for 30 minutes
    /// (its default <c>consumer_timeout</c>), hence the ceiling.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "00:25:00")]
    public TimeSpan StoreOutageTolerance { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>Overrides of the recurring schedules declared in code, by schedule name.</summary>
    public Dictionary<string, RecurringScheduleSettings> Schedules { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary><c>Scheduling:Schedules:{name}</c>: what an operator may change about a schedule declared in code.</summary>
public sealed class RecurringScheduleSettings
{
    /// <summary>Quartz cron expression with seconds, e.g. <c>0 0 2 * * ?</c>.</summary>
    public string? Cron { get; set; }

    /// <summary>IANA or Windows time zone id the cron expression is read in.</summary>
    public string? TimeZone { get; set; }

    /// <summary>False removes the schedule from the scheduler at the next start.</summary>
    public bool? Enabled { get; set; }
}
