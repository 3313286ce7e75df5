using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Quartz;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Core.Configuration;
using Sagas.Messaging.SagaRepository;
using Sagas.Messaging.Scheduling.Recurring;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Calls;
using Sagas.PromptAnalyses.Consumers;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Retention;
using Sagas.PromptAnalyses.Runs;
using Sagas.PromptAnalyses.StateMachines;

namespace Sagas.PromptAnalyses;

public static class PromptAnalysesRegistration
{
    /// <summary>The daily run; operators set <c>Scheduling:Schedules:prompt-analysis-daily:Cron|TimeZone|Enabled</c>.</summary>
    public const string DailyScheduleName = "prompt-analysis-daily";

    public const string DailyCron = "0 0 2 * * ?";

    /// <summary>The fallback tick of the claim step (completions claim at once; this catches anything missed).</summary>
    public const string ClaimScheduleName = "prompt-analysis-claim";

    public const string ScheduleQueue = "scheduled-prompt-analysis-run";

    public const string ClaimQueue = "claim-prompt-analyses";

    /// <summary>
    /// Options (validated now), the platforms behind <see cref="IPlatformCaller"/>, the run starter, fan-out, claim step
    /// and recorder, and the two recurring schedules: what both the API and the workers need.
    /// </summary>
    public static IServiceCollection AddPromptAnalyses(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(descriptor => descriptor.ServiceType == typeof(PromptAnalysesOptions)))
            return services;

        services.AddValidatedOptions<PromptAnalysesOptions>(configuration, PromptAnalysesOptions.SectionName);
        ValidateDailySchedule(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddPlatformCalls(configuration);
        services.AddScoped<PromptAnalysisRunStarter>();
        services.AddScoped<PromptAnalysisRunBudget>();
        services.AddScoped<PromptAnalysisFanOut>();
        services.AddScoped<PromptAnalysisClaimer>();
        services.AddScoped<PlatformResponseRecorder>();
        services.AddRecurringSchedule(DailyScheduleName, DailyCron, ScheduleQueue, () => new RunScheduledPromptAnalyses());
        services.AddRecurringSchedule(ClaimScheduleName, "0/30 * * * * ?", ClaimQueue, () => new ClaimPromptAnalyses());
        services.AddPromptAnalysisRetention();
        return services;
    }

    /// <summary>The saga and consumers of the <c>prompt-analyses</c> worker role.</summary>
    public static IBusRegistrationConfigurator AddPromptAnalysisWorkers(this IBusRegistrationConfigurator x, SagaConcurrencyMode concurrency)
    {
        x.AddSagaStateMachine<PromptAnalysisStateMachine, PromptAnalysisState, PromptAnalysisStateDefinition>()
            .EfCoreRepository(repository => repository.ConcurrencyMode = concurrency);
        AddPromptAnalysisConsumers(x);
        return x;
    }

    /// <summary>Every consumer of the workflow without the saga (tests register the saga on their own repository).</summary>
    public static IBusRegistrationConfigurator AddPromptAnalysisConsumers(this IBusRegistrationConfigurator x)
    {
        x.AddConsumer<ScheduledPromptAnalysisRunConsumer, ScheduledPromptAnalysisRunConsumerDefinition>();
        x.AddConsumer<DispatchPromptAnalysisRunConsumer, DispatchPromptAnalysisRunConsumerDefinition>();
        x.AddConsumer<ClaimPromptAnalysesConsumer, ClaimPromptAnalysesConsumerDefinition>();
        x.AddConsumer<PromptAnalysisFinishedConsumer, PromptAnalysisFinishedConsumerDefinition>();
        x.AddConsumer<AskPromptPlatformConsumer, AskPromptPlatformConsumerDefinition>();
        x.AddConsumer<AskPromptPlatformFaultConsumer, AskPromptPlatformFaultConsumerDefinition>();
        x.AddConsumer<CancelPromptAnalysisConsumer, CancelPromptAnalysisConsumerDefinition>();
        x.AddConsumer<CancelPromptAnalysisRunConsumer, CancelPromptAnalysisRunConsumerDefinition>();
        return x;
    }

    /// <summary>
    /// The scheduler process validates every schedule when it starts; checking this one here too makes an API or a
    /// worker without the scheduler role refuse a bad cron or time zone at start-up rather than silently never run.
    /// </summary>
    private static void ValidateDailySchedule(IConfiguration configuration)
    {
        var section = configuration.GetSection($"Scheduling:Schedules:{DailyScheduleName}");
        var cron = section["Cron"];
        if (!string.IsNullOrWhiteSpace(cron))
        {
            try
            {
                _ = new CronExpression(cron.Trim());
            }
            catch (FormatException exception)
            {
                throw new SagasConfigurationException(
                    $"Scheduling:Schedules:{DailyScheduleName}:Cron '{cron}' is not a valid Quartz cron expression " +
                    $"(seconds minutes hours day-of-month month day-of-week [year], e.g. '0 0 2 * * ?' for 02:00 daily): {exception.Message}");
            }
        }

        var timeZone = section["TimeZone"];
        if (!string.IsNullOrWhiteSpace(timeZone) && !TimeZoneInfo.TryFindSystemTimeZoneById(timeZone.Trim(), out _))
        {
            throw new SagasConfigurationException(
                $"Scheduling:Schedules:{DailyScheduleName}:TimeZone '{timeZone}' is not known on this machine; use an IANA id such as 'UTC' or 'Europe/Berlin'.");
        }
    }
}
