using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Contracts.Retention;
using Sagas.Core.Configuration;
using Sagas.Messaging.SagaHistory;
using Sagas.Messaging.Scheduling.Recurring;
using Sagas.Persistence.Retention;

namespace Sagas.Messaging.Retention;

public static class RetentionRegistrationExtensions
{
    public const string ScheduleName = "retention";

    public const string Queue = "run-retention";

    /// <summary>
    /// The retention settings, the recurring <c>retention</c> schedule (hourly by default) and the messaging
    /// infrastructure's own rule. Every process declares them; the process that runs the scheduler role runs them.
    /// </summary>
    public static IServiceCollection AddSagasRetention(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<RetentionOptions>(configuration, RetentionOptions.SectionName);
        services.AddRecurringSchedule(ScheduleName, "0 17 * * * ?", Queue, () => new RunRetention());
        services.AddRetentionRule<FailedMessagesRetention>(
            FailedMessagesRetention.Name, 30, "failed_messages rows whose last fault is older (the broker's _error queue copy is not touched)");
        services.AddRetentionRule<SagaHistoryRetention>(
            SagaHistoryRetention.Name, 90, "saga_history rows of saga instances with no event for the whole period");
        services.AddScoped<RetentionRunner>();
        return services;
    }

    /// <summary>The consumer of the retention tick, in the process that runs the scheduler role.</summary>
    public static IBusRegistrationConfigurator AddRetentionWorker(this IBusRegistrationConfigurator x)
    {
        x.AddConsumer<RunRetentionConsumer, RunRetentionConsumerDefinition>();
        return x;
    }
}
