using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.LlmJobs;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.Providers;
using Sagas.Messaging;
using Sagas.Persistence;

namespace Sagas.LlmJobs.Consumers;

/// <summary>
/// Ends every unfinished item of a job, cancelled by a user or expired at the deadline, then asks the provider to
/// stop the tasks. The database comes first: a crash before the provider calls leaves provider work running whose
/// results are ignored, never an item counted twice. Items being submitted right now end too; the submitter finds
/// them ended when it records and cancels what it made for them.
/// </summary>
public sealed class StopLlmJobItemsConsumer(
    SagasDbContext db,
    LlmJobLedger ledger,
    LlmJobProviderCatalog providers,
    ILogger<StopLlmJobItemsConsumer> logger) : IConsumer<StopLlmJobItems>
{
    public async Task Consume(ConsumeContext<StopLlmJobItems> context)
    {
        var message = context.Message;
        var job = await db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == message.JobId, context.CancellationToken);
        if (job is null)
            return;

        var open = await db.Set<LlmJobItem>().AsNoTracking()
            .Where(i => i.JobId == job.Id && (i.Status == LlmJobItemStatus.Queued || i.Status == LlmJobItemStatus.Submitting || i.Status == LlmJobItemStatus.Processing))
            .Select(i => new { i.ItemId, i.ProviderTaskId })
            .ToListAsync(context.CancellationToken);

        var (status, error) = message.Reason == LlmJobStopReason.Cancelled
            ? (LlmJobItemStatus.Cancelled, "Cancelled" + (string.IsNullOrWhiteSpace(message.Detail) ? "." : ": " + message.Detail))
            : (LlmJobItemStatus.Failed, message.Detail ?? "The job passed its deadline.");
        await ledger.ApplyAsync(
            job.Id,
            [.. open.Select(item => new ItemChange(item.ItemId, status, Error: error))],
            leaseId: null,
            (stored, _) => stored.StopDetail ??= error,
            message.Reason,
            context.CancellationToken);

        if (!job.IsActive)
            return;

        var provider = providers.Get(job.Provider);
        var batches = await db.Set<LlmJobBatch>().AsNoTracking().Where(b => b.JobId == job.Id && !b.ResultsApplied).Select(b => b.BatchId).ToListAsync(context.CancellationToken);
        var tasks = open.Where(i => i.ProviderTaskId != null).Select(i => i.ProviderTaskId!).ToList();
        await Parallel.ForEachAsync(tasks, new ParallelOptions { MaxDegreeOfParallelism = 20, CancellationToken = context.CancellationToken }, async (task, token) =>
        {
            try
            {
                await provider.CancelItemAsync(task, token);
            }
            catch (LlmProviderException exception)
            {
                logger.LogWarning("Could not cancel provider task {Task} of LLM job {JobId}: {Error}", task, job.Id, exception.Error);
            }
        });
        foreach (var batch in batches)
        {
            try
            {
                await provider.CancelBatchAsync(batch, context.CancellationToken);
            }
            catch (LlmProviderException exception)
            {
                logger.LogWarning("Could not cancel provider batch {Batch} of LLM job {JobId}: {Error}", batch, job.Id, exception.Error);
            }
        }
    }
}

public sealed class StopLlmJobItemsConsumerDefinition : ConsumerDefinition<StopLlmJobItemsConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<StopLlmJobItemsConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetryWithOutbox(context);
}

public sealed class StartLlmJobItemsConsumerDefinition : ConsumerDefinition<StartLlmJobItemsConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<StartLlmJobItemsConsumer> consumerConfigurator, IRegistrationContext context)
    {
        LlmJobQueues.UsePriorities(endpointConfigurator);
        endpointConfigurator.UseDatabaseRetryWithOutbox(context);
    }
}
