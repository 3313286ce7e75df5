using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Hosting.Health;
using Sagas.Hosting.Messaging;
using Sagas.Hosting.Observability;
using Sagas.Hosting.Workers;
using Sagas.LlmJobs;
using Sagas.Notifications;
using Sagas.Persistence;
using Sagas.PromptAnalyses;
using Sagas.ScanSessions;
using Sagas.Scheduling;

namespace Sagas.Hosting;

public static class SagasHostingExtensions
{
    /// <summary>
    /// Everything a Sagas process needs, from configuration: persistence, the bus on the configured transport with
    /// the consumers of the enabled worker roles, the scheduler, telemetry and health checks.
    /// </summary>
    public static TBuilder AddSagas<TBuilder>(this TBuilder builder, string serviceName, Action<IBusRegistrationConfigurator>? configureBus = null)
        where TBuilder : IHostApplicationBuilder
    {
        var roles = WorkerRoles.Read(builder.Configuration);
        builder.Services.AddSingleton(roles);
        builder.Services.AddSingleton(TimeProvider.System);

        // Persistence first: its schema step is a hosted service that must run before the bus starts consuming.
        builder.Services.AddSagasPersistence(builder.Configuration, builder.Environment.ContentRootPath);
        var database = DatabaseOptions.Read(builder.Configuration);
        builder.Services.AddSagasOutbox(builder.Configuration);
        builder.Services.AddLlmJobs(builder.Configuration);
        builder.Services.AddPromptAnalyses(builder.Configuration);
        var notifications = NotificationsOptions.Read(builder.Configuration);
        builder.Services.AddSagasNotifications(notifications);
        if (roles.Runs(WorkerRoles.ScanSessions) || roles.Runs(WorkerRoles.ScanFiles))
            builder.Services.AddScanSessions(builder.Configuration, builder.Environment.ContentRootPath);

        // The Quartz tables and scheduler likewise come before the bus that feeds the scheduler queue.
        if (roles.Runs(WorkerRoles.Scheduler))
        {
            builder.Services.AddSagasQuartzScheduler(
                builder.Configuration,
                new SchedulerStore(database.ParseProvider(), database.ResolveConnectionString(builder.Environment.ContentRootPath)));
        }

        builder.Services.AddSagasMessaging(builder.Configuration, roles, x =>
        {
            if (roles.Runs(WorkerRoles.LlmJobs))
                x.AddLlmJobWorkers(database.ParseSagaConcurrency());
            if (roles.Runs(WorkerRoles.ScanSessions))
                x.AddScanSessionWorkers(database.ParseSagaConcurrency());
            if (roles.Runs(WorkerRoles.ScanFiles))
                x.AddScanFileWorkers();
            if (roles.Runs(WorkerRoles.PromptAnalyses))
                x.AddPromptAnalysisWorkers(database.ParseSagaConcurrency());
            if (roles.Runs(WorkerRoles.Notifications))
                x.AddNotificationWorkers(notifications);
            configureBus?.Invoke(x);
        });
        // Hosted services stop in reverse order: registered after the bus, the dispatcher stops publishing before the bus stops.
        if (roles.RunsAny)
            builder.Services.AddSagasOutboxDispatcher();
        builder.AddSagasObservability(serviceName);
        builder.Services.AddSagasHealthChecks();
        return builder;
    }

    /// <summary>Health and Prometheus endpoints; every host maps them.</summary>
    public static WebApplication MapSagasOperationalEndpoints(this WebApplication app)
    {
        app.MapSagasHealthEndpoints();
        // Scraped from inside the network like the probes; keep the port private in deployments.
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        return app;
    }
}
