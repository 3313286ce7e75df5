using MassTransit.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Sagas.Messaging.Scheduling;
using Sagas.Messaging.Scheduling.Recurring;

namespace Sagas.Components.Tests.Scheduling;

public sealed record ProbeTick(string Source);

public sealed class When_recurring_schedules_are_resolved_from_configuration
{
    [Fact]
    public void Should_use_the_declared_defaults_without_configuration()
    {
        var schedule = Assert.Single(Resolve(new Dictionary<string, string?>()));

        Assert.Equal("0 0 2 * * ?", schedule.Cron);
        Assert.Equal("UTC", schedule.TimeZone.Id);
        Assert.True(schedule.Enabled);
        Assert.Equal(new Uri("queue:prompt-analysis-run"), schedule.Declaration.DestinationAddress);
    }

    [Fact]
    public void Should_take_cron_time_zone_and_enabled_from_configuration()
    {
        var schedule = Assert.Single(Resolve(new Dictionary<string, string?>
        {
            ["Scheduling:Schedules:nightly-analysis:Cron"] = "0 30 3 * * ?",
            ["Scheduling:Schedules:nightly-analysis:TimeZone"] = "Europe/Berlin",
            ["Scheduling:Schedules:nightly-analysis:Enabled"] = "false",
        }));

        Assert.Equal("0 30 3 * * ?", schedule.Cron);
        Assert.Equal("Europe/Berlin", schedule.TimeZone.Id);
        Assert.False(schedule.Enabled);
    }

    [Fact]
    public void Should_refuse_a_bad_cron_naming_the_schedule_and_the_setting()
    {
        var error = Assert.Throws<SagasConfigurationException>(() => Resolve(new Dictionary<string, string?>
        {
            ["Scheduling:Schedules:nightly-analysis:Cron"] = "every night",
        }));

        Assert.Contains("'nightly-analysis'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Scheduling:Schedules:nightly-analysis:Cron", error.Message, StringComparison.Ordinal);
        Assert.Contains("'every night'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_an_unknown_time_zone_naming_the_schedule()
    {
        var error = Assert.Throws<SagasConfigurationException>(() => Resolve(new Dictionary<string, string?>
        {
            ["Scheduling:Schedules:nightly-analysis:TimeZone"] = "Mars/Olympus_Mons",
        }));

        Assert.Contains("'nightly-analysis'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Mars/Olympus_Mons", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_two_schedules_with_one_name()
    {
        var services = new ServiceCollection()
            .AddRecurringSchedule("tick", "0/30 * * * * ?", "poll", () => new ProbeTick("a"))
            .AddRecurringSchedule("TICK", "0/30 * * * * ?", "poll", () => new ProbeTick("b"));
        var declarations = services.BuildServiceProvider().GetServices<RecurringScheduleDeclaration>();

        var error = Assert.Throws<SagasConfigurationException>(() => RecurringSchedules.Resolve(declarations, new SchedulingOptions()));

        Assert.Contains("'TICK' is declared twice", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("MaxConcurrency", "0")]
    [InlineData("FireAhead", "00:00:06")]
    [InlineData("FireAhead", "-00:00:01")]
    public void Should_refuse_an_unusable_scheduler_setting(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Scheduling:" + key] = value }).Build();

        var error = Assert.Throws<SagasConfigurationException>(() => configuration.ReadValidatedOptions<SchedulingOptions>(SchedulingOptions.SectionName));

        Assert.Contains("Scheduling:" + key, error.Message, StringComparison.Ordinal);
    }

    private static IReadOnlyList<ResolvedRecurringSchedule> Resolve(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection()
            .AddRecurringSchedule("nightly-analysis", "0 0 2 * * ?", "prompt-analysis-run", () => new ProbeTick("nightly"), misfirePolicy: MissedEventPolicy.Skip);
        var declarations = services.BuildServiceProvider().GetServices<RecurringScheduleDeclaration>();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return RecurringSchedules.Resolve(declarations, configuration.ReadValidatedOptions<SchedulingOptions>(SchedulingOptions.SectionName));
    }
}
