using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Contracts.LlmJobs;
using Sagas.Core.Configuration;
using Sagas.LlmJobs.Consumers;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.Providers;
using Sagas.LlmJobs.Retention;
using Sagas.LlmJobs.StateMachines;
using Sagas.Messaging.SagaRepository;
using Sagas.Messaging.Scheduling.Recurring;
using Sagas.Modules.Usage;
using Sagas.Persistence;

namespace Sagas.LlmJobs;

public static class LlmJobsRegistration
{
    public const string PollScheduleName = "llm-job-poll";

    /// <summary>Options, providers and the ledger: what both the API (validation) and the workers need.</summary>
    public static IServiceCollection AddLlmJobs(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<LlmJobsOptions>(configuration, LlmJobsOptions.SectionName);
        services.AddLlmJobProviders(configuration);
        services.AddScoped<LlmJobLedger>();
        services.AddModelUsage(configuration);
        // Finds jobs whose poll is due; each job's own interval adapts between MinInterval and MaxInterval.
        // Operators change the tick with Scheduling:Schedules:llm-job-poll:Cron.
        services.AddRecurringSchedule(PollScheduleName, "0/5 * * * * ?", "poll-llm-jobs", () => new PollLlmJobs());
        services.AddLlmJobRetention();
        return services;
    }

    /// <summary>The saga and consumers of the <c>llm-jobs</c> worker role.</summary>
    public static IBusRegistrationConfigurator AddLlmJobWorkers(this IBusRegistrationConfigurator x, SagaConcurrencyMode concurrency)
    {
        x.AddSagaStateMachine<LlmJobStateMachine, LlmJobState, LlmJobStateDefinition>()
            .EfCoreRepository(repository => repository.ConcurrencyMode = concurrency);
        x.AddConsumer<SubmitLlmJobConsumer, SubmitLlmJobConsumerDefinition>();
        x.AddConsumer<StartLlmJobItemsConsumer, StartLlmJobItemsConsumerDefinition>();
        x.AddConsumer<PollLlmJobsConsumer, PollLlmJobsConsumerDefinition>();
        x.AddConsumer<PollLlmJobConsumer, PollLlmJobConsumerDefinition>();
        x.AddConsumer<StopLlmJobItemsConsumer, StopLlmJobItemsConsumerDefinition>();
        return x;
    }
}
