using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MassTransit;
using MassTransit.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;
using Sagas.Messaging.Scheduling.Endpoint;
using Sagas.Messaging.Scheduling.Recurring;
using Sagas.Messaging.Scheduling.Store;

namespace Sagas.Messaging.Scheduling;

/// <summary>
/// Runs the Quartz scheduler of a process with the scheduler role. At host start (before the bus, being registered
/// ahead of it) it creates the Quartz tables, builds the scheduler in standby and registers the declared recurring
/// schedules; triggers fire only while the bus runs (started after the bus has started, put in standby before it
/// stops), so a fire never finds a stopped bus; the scheduler shuts down with the host.
/// </summary>
public sealed class SchedulerLifecycle(
    ISchedulerFactory schedulers,
    SchedulerStore database,
    SchedulingOptions options,
    IEnumerable<RecurringScheduleDeclaration> declarations,
    RunningFires fires,
    ILogger<SchedulerLifecycle> logger) : IHostedService, IBusObserver
{
    private readonly TaskCompletionSource<IScheduler> _created = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _everStarted;

    public IReadOnlyList<ResolvedRecurringSchedule> Schedules { get; private set; } = [];

    /// <summary>The scheduler once built (null before host start).</summary>
    public IScheduler? Scheduler => _created.Task.IsCompletedSuccessfully ? _created.Task.Result : null;

    public bool UsesDatabase => database.IsPersistent;

    public async Task<IScheduler> GetSchedulerAsync(CancellationToken cancellationToken) => await _created.Task.WaitAsync(cancellationToken);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Refuse a bad schedule before anything is written anywhere.
        Schedules = RecurringSchedules.Resolve(declarations, options);
        foreach (var name in options.Schedules.Keys.Where(name => Schedules.All(schedule => !string.Equals(schedule.Name, name, StringComparison.OrdinalIgnoreCase))))
            logger.LogWarning("{Section}:Schedules:{Name} configures a recurring schedule no feature of this build declares; it is ignored", SchedulingOptions.SectionName, name);

        if (UsesDatabase)
            await QuartzPostgresSchema.EnsureCreatedAsync(database.ConnectionString, logger, cancellationToken);

        var scheduler = await schedulers.GetScheduler(cancellationToken);
        await RegisterRecurringSchedulesAsync(scheduler, cancellationToken);
        _created.TrySetResult(scheduler);
        logger.LogInformation("Quartz scheduler '{Name}' instance {Instance} ready ({Store}), {Count} recurring schedule(s)",
            scheduler.SchedulerName, scheduler.SchedulerInstanceId, UsesDatabase ? "PostgreSQL clustered store" : "in-memory store", Schedules.Count);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Scheduler is not { } scheduler)
            return;

        try
        {
            await scheduler.Shutdown(waitForJobsToComplete: true, cancellationToken);
        }
        catch (NullReferenceException exception) when (!_everStarted)
        {
            // Quartz 4.7.3's clustered store throws from ClusterManager.Shutdown when the scheduler never started
            // (the bus never came up); there is nothing to release in that case.
            logger.LogDebug(exception, "Quartz scheduler shut down before it ever started");
        }
    }

    public async Task PostStart(IBus bus, Task<BusReady> busReady)
    {
        if (Scheduler is { } scheduler)
        {
            await scheduler.Start(CancellationToken.None);
            _everStarted = true;
            logger.LogInformation("Quartz scheduler started; scheduled messages are delivered from this process");
        }
    }

    public async Task PreStop(IBus bus)
    {
        if (Scheduler is not { } scheduler || scheduler.Status != SchedulerStatus.Running)
            return;

        try
        {
            await scheduler.Standby(CancellationToken.None);
            await WaitForRunningFiresAsync();
        }
        catch (SchedulerException exception)
        {
            // Shut down between the status check and the call (host disposal racing the bus stop): nothing left to pause.
            logger.LogDebug(exception, "Quartz scheduler was already shut down when the bus stopped");
        }
    }

    // Standby stops new fires, not the running ones, and a fire ahead of its due time waits up to FireAhead before it
    // sends: let those send through this bus before it stops, rather than fail and wait for a retry on another node.
    private async Task WaitForRunningFiresAsync()
    {
        var deadline = DateTime.UtcNow + options.FireAhead + TimeSpan.FromSeconds(5);
        while (fires.Running > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                logger.LogWarning("Quartz fires still running when the bus stops; each is fired again by its retry policy");
                return;
            }

            await Task.Delay(20);
        }
    }

    public void PostCreate(IBus bus)
    {
    }

    public void CreateFaulted(Exception exception)
    {
    }

    public Task PreStart(IBus bus) => Task.CompletedTask;

    public Task StartFaulted(IBus bus, Exception exception) => Task.CompletedTask;

    public Task PostStop(IBus bus) => Task.CompletedTask;

    public Task StopFaulted(IBus bus, Exception exception) => Task.CompletedTask;

    private const string FingerprintKey = "Fingerprint";

    // What makes two registrations the same schedule: destination, message types and message. The envelope's own
    // message id and sent time differ on every serialization and do not count.
    private static string Fingerprint(string body, string destination)
    {
        using var envelope = JsonDocument.Parse(body);
        var root = envelope.RootElement;
        var identity = string.Join('\n',
            destination,
            root.TryGetProperty("messageType", out var types) ? types.GetRawText() : "",
            root.TryGetProperty("message", out var message) ? message.GetRawText() : body);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(identity)));
    }

    // Idempotent: an unchanged schedule is left alone (keeping its fire history and pause), a changed one replaced
    // (keeping its pause), a disabled or no longer declared one removed.
    private async Task RegisterRecurringSchedulesAsync(IScheduler scheduler, CancellationToken cancellationToken)
    {
        foreach (var schedule in Schedules)
        {
            if (!schedule.Enabled)
            {
                if (await scheduler.DeleteJob(schedule.JobKey, cancellationToken))
                    logger.LogInformation("Recurring schedule '{Name}' is disabled and was removed", schedule.Name);
                continue;
            }

            var body = schedule.Declaration.SerializeMessage();
            var destination = schedule.Declaration.DestinationAddress.ToString();
            var fingerprint = Fingerprint(body, destination);
            var existing = await scheduler.GetTrigger(schedule.TriggerKey, cancellationToken) as ICronTrigger;
            var existingJob = existing is null ? null : await scheduler.GetJobDetail(schedule.JobKey, cancellationToken);
            if (existing is not null && existingJob is not null
                && existing.CronExpressionString == schedule.Cron
                && existing.TimeZone.Id == schedule.TimeZone.Id
                && existing.MisfireInstruction == RecurringTriggers.MisfireInstruction(schedule.Declaration.MisfirePolicy)
                && existingJob.JobDataMap.ReadString(FingerprintKey) == fingerprint)
            {
                continue;
            }

            var paused = existing is not null && await scheduler.GetTriggerState(schedule.TriggerKey, cancellationToken) == TriggerState.Paused;
            var job = JobBuilder.Create<ScheduledMessageJob>()
                .WithIdentity(schedule.JobKey)
                .WithDescription($"recurring '{schedule.Name}': {schedule.Declaration.MessageType.Name} to {destination}")
                .UsingJobData(new JobDataMap
                {
                    [ScheduledJobData.Destination] = destination,
                    [ScheduledJobData.Body] = body,
                    [ScheduledJobData.ContentType] = SystemTextJsonMessageSerializer.JsonContentType.ToString(),
                    [ScheduledJobData.PayloadType] = schedule.Declaration.MessageType.FullName ?? schedule.Declaration.MessageType.Name,
                    [FingerprintKey] = fingerprint,
                })
                .Build();
            var trigger = RecurringTriggers.Build(
                schedule.TriggerKey, schedule.JobKey, schedule.Cron, schedule.TimeZone, schedule.Declaration.MisfirePolicy, startTime: null, endTime: null, $"recurring '{schedule.Name}'");
            await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions { Replace = true, Paused = paused }, cancellationToken);
            logger.LogInformation("Recurring schedule '{Name}' registered: {Cron} ({TimeZone}) to {Destination}{Paused}",
                schedule.Name, schedule.Cron, schedule.TimeZone.Id, destination, paused ? ", paused" : "");
        }

        var declared = Schedules.Select(schedule => schedule.JobKey).ToHashSet();
        foreach (var stale in await scheduler.GetJobKeys(GroupMatcher<JobKey>.GroupEquals(ResolvedRecurringSchedule.QuartzGroup), cancellationToken))
        {
            if (!declared.Contains(stale) && await scheduler.DeleteJob(stale, cancellationToken))
                logger.LogInformation("Recurring schedule '{Name}' is no longer declared and was removed", stale.Name);
        }
    }
}
