using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.LlmJobs;
using Sagas.LlmJobs.Data;
using Sagas.Messaging;
using Sagas.Messaging.Scheduling;
using Sagas.Persistence;

namespace Sagas.LlmJobs.Consumers;

/// <summary>
/// The recurring tick: leases every active job whose poll is due (highest priority first) and hands each to a
/// poller. The lease is what keeps two workers from polling one job's items at the same time.
/// </summary>
public sealed class PollLlmJobsConsumer(SagasDbContext db, LlmJobsOptions options, TimeProvider clock, ILogger<PollLlmJobsConsumer> logger) : IConsumer<PollLlmJobs>
{
    public async Task Consume(ConsumeContext<PollLlmJobs> context)
    {
        var now = clock.GetUtcNow();
        // Jobs' next polls are counted from their lease (PollLlmJob.LeasedAt): leasing at the tick's scheduled instant
        // rather than at the moment this ran puts a job whose interval is a multiple of the tick's period due exactly at
        // a later tick, instead of a few milliseconds after it (which would poll it every other tick). A tick that ran
        // later than MinInterval after its instant (a backlog, a redelivery) counts from now, or the next poll would be
        // due before this one ran.
        var leasedAt = ScheduledFireTime.Of(context) is { } scheduled && scheduled <= now && now - scheduled < options.Polling.MinInterval ? scheduled : now;
        var due = await db.Set<LlmJob>().AsNoTracking()
            .Where(j => j.Status == LlmJobStatus.Running && j.NextPollAt != null && j.NextPollAt <= now && (j.LeaseUntil == null || j.LeaseUntil < now))
            .OrderByDescending(j => j.Priority).ThenBy(j => j.NextPollAt)
            .Select(j => new { j.Id, j.Priority })
            .Take(options.Polling.MaxJobsPerCycle)
            .ToListAsync(context.CancellationToken);

        var handed = 0;
        foreach (var job in due)
        {
            var lease = NewId.NextGuid();
            var until = now + options.Polling.Lease;
            // Conditional update: of two ticks racing for one job, exactly one sees a row changed.
            var claimed = await db.Set<LlmJob>()
                .Where(j => j.Id == job.Id && j.Status == LlmJobStatus.Running && (j.LeaseUntil == null || j.LeaseUntil < now))
                .ExecuteUpdateAsync(set => set.SetProperty(j => j.LeaseId, lease).SetProperty(j => j.LeaseUntil, until), context.CancellationToken);
            if (claimed == 0)
                continue;

            await context.Publish(new PollLlmJob(job.Id, lease, leasedAt), publish => publish.TrySetPriority((byte)job.Priority));
            handed++;
        }

        if (handed > 0)
            logger.LogInformation("LLM poll tick: {Jobs} job(s) handed to pollers", handed);
    }
}

public sealed class PollLlmJobsConsumerDefinition : ConsumerDefinition<PollLlmJobsConsumer>
{
    public PollLlmJobsConsumerDefinition() => ConcurrentMessageLimit = 1;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<PollLlmJobsConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetryWithOutbox(context);
}
