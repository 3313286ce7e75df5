using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Sagas.LlmJobs.Consumers;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.Providers;
using Sagas.LlmJobs.StateMachines;
using Sagas.Messaging.SagaRepository;
using Sagas.Persistence;
using Sagas.Messaging.Scheduling.Recurring;
using Sagas.Contracts.LlmJobs;

namespace Sagas.LlmJobs;

public static class LlmJobsRegistration
{
    public const string PollScheduleName = "llm-job-poll";

    /// <summary>Options, providers and the ledger: what both the API (validation) and the workers need.</summary>
    public static IServiceCollection AddLlmJobs(this IServiceCollection services, IConfiguration configuration)
    {
        var options = new LlmJobsOptions();
        configuration.GetSection(LlmJobsOptions.SectionName).Bind(options);
        Validate(options);
        services.AddSingleton(options);
        services.AddLlmJobProviders(configuration);
        services.AddScoped<LlmJobLedger>();
        // Finds jobs whose poll is due; each job's own interval adapts between MinInterval and MaxInterval.
        // Operators change the tick with Scheduling:Schedules:llm-job-poll:Cron.
        services.AddRecurringSchedule(PollScheduleName, "0/5 * * * * ?", "poll-llm-jobs", () => new PollLlmJobs());
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

    private static void Validate(LlmJobsOptions options)
    {
        var problems = new List<string>();
        if (options.Kinds.Count == 0)
            problems.Add("LlmJobs:Kinds is empty; configure at least one job kind.");
        foreach (var (name, kind) in options.Kinds)
        {
            if (string.IsNullOrWhiteSpace(kind.Instructions))
                problems.Add($"LlmJobs:Kinds:{name}:Instructions is empty.");
        }

        var polling = options.Polling;
        if (polling.MinInterval <= TimeSpan.Zero || polling.Interval < polling.MinInterval || polling.MaxInterval < polling.Interval)
            problems.Add("LlmJobs:Polling needs 0 < MinInterval <= Interval <= MaxInterval.");
        if (polling.Lease <= TimeSpan.Zero)
            problems.Add("LlmJobs:Polling:Lease must be positive.");
        if (polling.MaxItemsPerJobPerCycle < 1 || polling.Parallelism < 1 || polling.MaxJobsPerCycle < 1)
            problems.Add("LlmJobs:Polling:MaxItemsPerJobPerCycle, Parallelism and MaxJobsPerCycle must be at least 1.");
        if (options.Submission.SliceSize < 1 || options.Submission.Parallelism < 1)
            problems.Add("LlmJobs:Submission:SliceSize and Parallelism must be at least 1.");
        if (options.MaxItemsPerJob < 1)
            problems.Add("LlmJobs:MaxItemsPerJob must be at least 1.");
        if (options.DefaultDeadline <= TimeSpan.Zero)
            problems.Add("LlmJobs:DefaultDeadline must be positive.");
        if (problems.Count > 0)
            throw new SagasConfigurationException(string.Join(" ", problems));
    }
}
