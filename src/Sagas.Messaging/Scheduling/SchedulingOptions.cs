using Microsoft.Extensions.Configuration;
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
    public string InstanceName { get; set; } = "sagas";

    /// <summary>Concurrent Quartz fires per process (each fire is one send to the broker).</summary>
    public int MaxConcurrency { get; set; } = 10;

    /// <summary>How late a trigger may fire before it counts as misfired and its misfire policy applies.</summary>
    public TimeSpan MisfireThreshold { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a clustered instance reports itself alive; a silent instance's fires are recovered by the others.</summary>
    public TimeSpan ClusterCheckinInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Overrides of the recurring schedules declared in code, by schedule name.</summary>
    public Dictionary<string, RecurringScheduleSettings> Schedules { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public static SchedulingOptions Read(IConfiguration configuration)
    {
        var options = new SchedulingOptions();
        configuration.GetSection(SectionName).Bind(options);
        options.Validate();
        return options;
    }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(InstanceName))
            throw new SagasConfigurationException($"{SectionName}:{nameof(InstanceName)} is empty; every scheduler of one cluster needs the same name.");
        if (MaxConcurrency is < 1 or > 200)
            throw new SagasConfigurationException($"{SectionName}:{nameof(MaxConcurrency)} is {MaxConcurrency}; use 1 to 200.");
        if (MisfireThreshold < TimeSpan.FromSeconds(1))
            throw new SagasConfigurationException($"{SectionName}:{nameof(MisfireThreshold)} is {MisfireThreshold}; use at least 00:00:01.");
        if (ClusterCheckinInterval < TimeSpan.FromSeconds(1))
            throw new SagasConfigurationException($"{SectionName}:{nameof(ClusterCheckinInterval)} is {ClusterCheckinInterval}; use at least 00:00:01.");
    }
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
