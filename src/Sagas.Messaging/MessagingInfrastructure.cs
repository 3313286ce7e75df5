using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Sagas.Messaging.FailedMessages;
using Sagas.Messaging.Outbox;
using Sagas.Messaging.SagaHistory;

namespace Sagas.Messaging;

public static class MessagingInfrastructure
{
    /// <summary>The assembly whose entity configurations add the outbox and failed-message tables to the database model.</summary>
    public static Assembly ModelAssembly => typeof(MessagingInfrastructure).Assembly;

    /// <summary>
    /// The transactional outbox writer for consumers, accepting the shared contracts and those of
    /// <paramref name="workflowAssemblies"/>. The dispatcher that publishes what they wrote is added separately with
    /// <see cref="AddSagasOutboxDispatcher"/>, after the bus, so that it starts after the bus and stops before it.
    /// </summary>
    public static IServiceCollection AddSagasOutbox(this IServiceCollection services, IConfiguration configuration, IEnumerable<Assembly> workflowAssemblies)
    {
        services.AddValidatedOptions<OutboxOptions>(configuration, OutboxOptions.SectionName);
        services.AddSingleton(new OutboxMessageTypes(workflowAssemblies));
        services.AddSingleton<OutboxSignal>();
        services.AddScoped<OutboxWriter>();
        return services;
    }

    public static IServiceCollection AddSagasOutboxDispatcher(this IServiceCollection services) =>
        services.AddHostedService<OutboxDispatcher>();

    /// <summary>Reading and redelivering what the endpoints moved to their <c>_error</c> queues.</summary>
    public static IServiceCollection AddFailedMessages(this IServiceCollection services)
    {
        services.AddScoped<FailedMessageRecorder>();
        services.AddScoped<FailedMessageRedeliverer>();
        return services;
    }

    /// <summary>
    /// The settings of the run history every state-machine saga on the EF Core repository keeps (<c>saga_history</c>;
    /// its retention rule comes with <c>AddSagasRetention</c>). Without this call the repository records with the default bounds.
    /// </summary>
    public static IServiceCollection AddSagaHistory(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<SagaHistoryOptions>(configuration, SagaHistoryOptions.SectionName);
        return services;
    }
}
