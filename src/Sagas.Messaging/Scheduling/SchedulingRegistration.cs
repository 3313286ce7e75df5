using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Quartz;
using Sagas.Core.Configuration;
using Sagas.Messaging.Scheduling.Endpoint;
using Sagas.Messaging.Scheduling.Recurring;
using Sagas.Messaging.Scheduling.Status;
using Sagas.Messaging.Scheduling.Store;

namespace Sagas.Messaging.Scheduling;

public static class SchedulingRegistration
{
    /// <summary>
    /// The Quartz scheduler of a process with the scheduler role: PostgreSQL clustered job store when the database is
    /// PostgreSQL, in-memory store for the embedded SQLite default; its readiness and the recurring schedule service.
    /// Register it before the bus so its tables exist before the scheduler queue is consumed.
    /// </summary>
    public static IServiceCollection AddSagasQuartzScheduler(this IServiceCollection services, IConfiguration configuration, SchedulerStore database)
    {
        services.AddValidatedOptions<SchedulingOptions>(configuration, SchedulingOptions.SectionName);
        var options = configuration.ReadValidatedOptions<SchedulingOptions>(SchedulingOptions.SectionName);
        services.AddSingleton(database);
        services.AddQuartz(quartz =>
        {
            quartz.ConfigureScheduler(scheduler =>
            {
                // Quartz keeps schedulers in a process-wide registry keyed by name. A clustered scheduler needs the
                // cluster's name; an in-memory one is private to its host, and a unique name keeps two hosts in one
                // process (tests, tools) from sharing it.
                scheduler.InstanceName = database.IsPersistent ? options.InstanceName : $"{options.InstanceName}-{Guid.NewGuid():N}";
                scheduler.GenerateInstanceId = true;
                // Due triggers are taken from the store together: one per acquisition left 10,000 one-offs due in one
                // minute firing seconds late. FireAhead (zero unless configured) widens a batch to triggers due soon
                // after the first; ScheduledMessageJob holds such an early fire until its due time.
                scheduler.MaxBatchSize = options.MaxConcurrency;
                scheduler.BatchTriggerAcquisitionFireAheadTimeWindow = options.FireAhead;
            });
            quartz.UseDefaultThreadPool(options.MaxConcurrency);

            if (database.IsPersistent)
            {
                quartz.UsePersistentStore(store =>
                {
                    store.UsePostgres(QuartzConnectionString.For(database.ConnectionString, options.MaxConcurrency));
                    store.UseSystemTextJsonSerializer(_ => { });
                    store.ConfigureStore(ado =>
                    {
                        ado.TablePrefix = QuartzPostgresSchema.TablePrefix;
                        ado.StoreJobDataAsStrings = true;
                        ado.MisfireThreshold = options.MisfireThreshold;
                        // The tables are created by QuartzPostgresSchema under an advisory lock; Quartz only checks them.
                        ado.SchemaProvisioning = SchemaProvisioning.Validate;
                    });
                    store.UseClustering(cluster =>
                    {
                        cluster.CheckinInterval = options.ClusterCheckinInterval;
                        cluster.CheckinMisfireThreshold = options.ClusterCheckinInterval * 2;
                    });
                });
            }
            else
            {
                quartz.UseInMemoryStore(memory => memory.MisfireThreshold = options.MisfireThreshold);
            }
        });

        services.AddSingleton<RunningFires>();
        services.AddSingleton<SchedulerLifecycle>();
        services.AddHostedService(provider => provider.GetRequiredService<SchedulerLifecycle>());
        services.AddBusObserver(provider => provider.GetRequiredService<SchedulerLifecycle>());
        services.AddSingleton<ISchedulerStatus, QuartzSchedulerStatus>();
        services.AddSingleton<IRecurringScheduleService, RecurringScheduleService>();
        return services;
    }

    /// <summary>
    /// The scheduler queue's consumer, and the schedule request consumer (queue <c>{scheduler queue}-schedules</c>), on
    /// the bus of a process with the scheduler role.
    /// </summary>
    public static IBusRegistrationConfigurator AddSagasSchedulerEndpoint(this IBusRegistrationConfigurator bus, string queueName)
    {
        bus.AddSingleton(new SchedulerQueue(queueName));
        bus.AddConsumer<SchedulerEndpointConsumer, SchedulerEndpointDefinition>();
        bus.AddConsumer<RecurringScheduleRequestConsumer, RecurringScheduleRequestConsumerDefinition>();
        return bus;
    }
}
