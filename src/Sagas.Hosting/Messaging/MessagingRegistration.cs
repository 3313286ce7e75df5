using System.Security.Authentication;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Sagas.Hosting.Diagnostics;
using Sagas.Messaging;
using Sagas.Messaging.FailedMessages;
using Sagas.Messaging.Scheduling;
using Sagas.Messaging.Scheduling.Status;
using Sagas.Modules;
using Sagas.Transports.AmazonSqs;

namespace Sagas.Hosting.Messaging;

public static class MessagingRegistration
{
    /// <summary>
    /// Registers MassTransit with the consumers and sagas of the enabled roles on the configured transport.
    /// This is the only place that decides the transport.
    /// </summary>
    public static IServiceCollection AddSagasMessaging(
        this IServiceCollection services,
        IConfiguration configuration,
        WorkerRoles roles,
        bool runsScheduler,
        Action<IBusRegistrationConfigurator>? configureFeatures = null)
    {
        services.AddValidatedOptions<MessagingOptions>(configuration, MessagingOptions.SectionName);
        var options = configuration.ReadValidatedOptions<MessagingOptions>(MessagingOptions.SectionName);
        var transport = options.ParseTransport();
        // Read by UseDatabaseRetry in every database endpoint's definition.
        services.AddSingleton(new DatabaseRedelivery(options.Redelivery.ParsedIntervals(), options.ChooseRedeliveryPath()));

        services.AddMassTransit(x =>
        {
            x.SetKebabCaseEndpointNameFormatter();
            // MassTransit reports usage to its vendor by default: production hosts (often without egress) must not phone
            // home, and the failing call logged a warning with a stack trace on every start.
            x.DisableUsageTelemetry();
            if (roles.RunsAny)
                x.AddConsumer<CheckWorkerConsumer>();
            if (runsScheduler)
                x.AddSagasSchedulerEndpoint(options.SchedulerQueue);

            configureFeatures?.Invoke(x);
            x.UseConfiguredTransport(transport, options, runsScheduler);
        });

        // A process running Quartz registered its own status with the scheduler (AddSagasQuartzScheduler).
        if (!runsScheduler)
        {
            services.AddSingleton<ISchedulerStatus>(transport == TransportKind.InMemory
                ? new TransportDelaySchedulerStatus()
                : new RemoteSchedulerStatus(options.SchedulerQueue));
        }

        return services;
    }

    private static void UseConfiguredTransport(this IBusRegistrationConfigurator x, TransportKind transport, MessagingOptions options, bool runsScheduler)
    {
        var schedulerAddress = new Uri($"queue:{options.SchedulerQueue}");
        switch (transport)
        {
            case TransportKind.InMemory when runsScheduler:
                // The same scheduler queue and Quartz endpoint as on RabbitMQ (in-memory Quartz store), so one-off,
                // cancellable and recurring schedules behave alike on both transports.
                x.AddMessageScheduler(schedulerAddress);
                x.UsingInMemory((context, cfg) =>
                {
                    cfg.UseMessageScheduler(schedulerAddress);
                    cfg.RecordFailedMessages(context);
                    cfg.ConfigureEndpoints(context);
                });
                break;

            case TransportKind.InMemory:
                // No scheduler in this single process: the transport's own delay queue carries one-off schedules
                // (which cannot be cancelled, and there are no recurring schedules).
                x.AddDelayedMessageScheduler();
                x.UsingInMemory((context, cfg) =>
                {
                    cfg.UseDelayedMessageScheduler();
                    cfg.RecordFailedMessages(context);
                    cfg.ConfigureEndpoints(context);
                });
                break;

            case TransportKind.RabbitMq:
                var address = RabbitMqAddress.From(options.RabbitMq);
                var rabbit = options.RabbitMq;
                // No delayed-exchange plugin is assumed: every scheduled message goes through the scheduler queue,
                // served by the processes with the scheduler role.
                x.AddMessageScheduler(schedulerAddress);
                if (rabbit.QuorumQueues)
                {
                    x.AddConfigureEndpointsCallback((_, _, endpoint) =>
                    {
                        if (endpoint is IRabbitMqReceiveEndpointConfigurator queue)
                            queue.SetQuorumQueue();
                    });
                }

                x.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(address.HostAddress, host =>
                    {
                        host.Username(address.Username);
                        host.Password(address.Password);
                        host.PublisherConfirmation = true;
                        if (address.UseTls)
                        {
                            host.UseSsl(ssl =>
                            {
                                ssl.Protocol = SslProtocols.Tls12 | SslProtocols.Tls13;
                                ssl.ServerName = address.ServerName;
                            });
                        }
                    });
                    cfg.PrefetchCount = rabbit.PrefetchCount;
                    cfg.UseMessageScheduler(schedulerAddress);
                    cfg.RecordFailedMessages(context);
                    cfg.ConfigureEndpoints(context);
                });
                break;

            case TransportKind.AmazonSqs:
                // Delays up to 15 minutes ride on SQS's DelaySeconds; schedules and timeouts go through the scheduler queue,
                // exactly as on RabbitMQ.
                x.AddMessageScheduler(schedulerAddress);
                x.UsingSagasAmazonSqs(options.AmazonSqs, (context, cfg) =>
                {
                    cfg.UseMessageScheduler(schedulerAddress);
                    cfg.RecordFailedMessages(context);
                    cfg.ConfigureEndpoints(context);
                });
                break;

            default:
                throw new SagasConfigurationException($"Messaging:Transport '{transport}' has no configuration.");
        }
    }

    /// <summary>
    /// Every receive endpoint of every process records the messages it moves to its <c>_error</c> queue in
    /// <c>failed_messages</c> (see docs/reliability.md). Connected before the endpoints are configured, so none is missed.
    /// </summary>
    private static void RecordFailedMessages(this IBusFactoryConfigurator cfg, IServiceProvider services) =>
        cfg.ConnectEndpointConfigurationObserver(new FailedMessageRecording(services));
}
