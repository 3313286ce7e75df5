using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Core.Configuration;
using Sagas.Hosting.Health;
using Sagas.Hosting.Messaging;
using Sagas.Hosting.Observability;
using Sagas.Messaging;
using Sagas.Messaging.Retention;
using Sagas.Messaging.Scheduling;
using Sagas.Modules;
using Sagas.Modules.Assistant;
using Sagas.Modules.Breakers;
using Sagas.Modules.Runs;
using Sagas.Modules.Usage;
using Sagas.Notifications;
using Sagas.Persistence;

namespace Sagas.Hosting;

public static class SagasHostingExtensions
{
    /// <summary>The Quartz scheduler endpoint, the recurring schedules and the retention run.</summary>
    public static readonly WorkerRole SchedulerRole = new("scheduler", "The Quartz scheduler endpoint, the recurring schedules and the retention run.");

    /// <summary>Outgoing webhooks on finished work (no queues at all while no endpoint is configured).</summary>
    public static readonly WorkerRole NotificationsRole = new("notifications", "Outgoing webhooks on finished work (no queues at all while no endpoint is configured).");

    /// <summary>
    /// Everything a Sagas process needs, from configuration: persistence over the workflows' model, the bus on the
    /// configured transport with the consumers of the enabled worker roles, the scheduler, telemetry and health checks.
    /// </summary>
    public static TBuilder AddSagas<TBuilder>(this TBuilder builder, string serviceName, WorkflowCatalog workflows, Action<IBusRegistrationConfigurator>? configureBus = null)
        where TBuilder : IHostApplicationBuilder
    {
        var roles = WorkerRoles.Read(builder.Configuration, KnownRoles(workflows));
        builder.Services.AddSingleton(roles);
        builder.Services.AddSingleton(workflows);
        builder.Services.AddSingleton(TimeProvider.System);
        var contentRoot = builder.Environment.ContentRootPath;

        // Persistence first: its schema step is a hosted service that must run before the bus starts consuming.
        builder.Services.AddSagasPersistence(builder.Configuration, contentRoot, workflows.Model);
        var database = builder.Configuration.ReadValidatedOptions<DatabaseOptions>(DatabaseOptions.SectionName);
        builder.Services.AddSagasOutbox(builder.Configuration, workflows.Assemblies);
        builder.Services.AddFailedMessages();
        builder.Services.AddSagaHistory(builder.Configuration);
        builder.Services.AddSagasRetention(builder.Configuration);
        builder.Services.AddAssistantQuestionsRetention();
        builder.Services.AddBulkOperationsRetention();
        builder.Services.AddModelUsage(builder.Configuration);
        builder.Services.AddProviderBreakers(builder.Configuration);
        var services = new WorkflowServices(builder.Services, builder.Configuration, contentRoot, roles);
        foreach (var module in workflows.Modules)
            module.AddServices(services);

        builder.Services.AddSagasNotifications(builder.Configuration, workflows.Webhooks.Events);

        // The Quartz tables and scheduler likewise come before the bus that feeds the scheduler queue.
        if (roles.Runs(SchedulerRole))
        {
            builder.Services.AddSagasQuartzScheduler(
                builder.Configuration,
                new SchedulerStore(database.ParseProvider(), database.ResolveConnectionString(contentRoot)));
        }

        builder.Services.AddSagasMessaging(builder.Configuration, roles, roles.Runs(SchedulerRole), x =>
        {
            var consumers = new WorkflowConsumers(x, builder.Configuration, roles, database.ParseSagaConcurrency());
            foreach (var module in workflows.Modules)
                module.AddConsumers(consumers);
            // The retention run goes where the recurring schedules are: one role operators already run once or a few times.
            if (roles.Runs(SchedulerRole))
                x.AddRetentionWorker();
            if (roles.Runs(NotificationsRole))
                x.AddNotificationWorkers(builder.Configuration, workflows.Webhooks);
            configureBus?.Invoke(x);
        });
        // Hosted services stop in reverse order: registered after the bus, the dispatcher stops publishing before the bus stops.
        if (roles.RunsAny)
            builder.Services.AddSagasOutboxDispatcher();
        builder.AddSagasObservability(serviceName);
        builder.Services.AddSagasHealthChecks();
        return builder;
    }

    /// <summary>Every role of this build: the workflows' roles in catalog order, then the infrastructure's.</summary>
    public static IReadOnlyList<WorkerRole> KnownRoles(WorkflowCatalog workflows) => [.. workflows.Roles, SchedulerRole, NotificationsRole];

    /// <summary>Health and Prometheus endpoints; every host maps them.</summary>
    public static WebApplication MapSagasOperationalEndpoints(this WebApplication app)
    {
        app.MapSagasHealthEndpoints();
        // Scraped from inside the network like the probes; keep the port private in deployments.
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        return app;
    }
}
