using MassTransit;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.LlmJobs;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.Providers;
using Sagas.Messaging;
using Sagas.Persistence;

namespace Sagas.LlmJobs.Consumers;

/// <summary>
/// Stores a submitted job and its items, then announces it. Storing is skipped when the job exists already
/// (a redelivery, or a concurrent duplicate that lost the insert race and comes back through the retry).
/// </summary>
public sealed class SubmitLlmJobConsumer(SagasDbContext db, LlmJobProviderCatalog providers, LlmJobsOptions options, TimeProvider clock) : IConsumer<SubmitLlmJob>
{
    public async Task Consume(ConsumeContext<SubmitLlmJob> context)
    {
        var message = context.Message;
        if (!await db.Set<LlmJob>().AnyAsync(j => j.Id == message.JobId, context.CancellationToken))
        {
            var provider = providers.Default;
            if (!options.Kinds.TryGetValue(message.Kind, out var kind))
                throw new InvalidOperationException($"LLM job {message.JobId} has kind '{message.Kind}', which is not configured under LlmJobs:Kinds.");

            var now = clock.GetUtcNow();
            db.Add(new LlmJob
            {
                Id = message.JobId,
                Kind = message.Kind.ToLowerInvariant(),
                Model = string.IsNullOrWhiteSpace(message.Model) ? provider.DefaultModel : message.Model,
                Instructions = string.IsNullOrWhiteSpace(message.Instructions) ? kind.Instructions : message.Instructions,
                Priority = message.Priority,
                Mode = message.Mode,
                Status = LlmJobStatus.Queued,
                Provider = provider.Name,
                Simulated = provider.IsSimulated,
                TotalItems = message.Items.Count,
                CreatedAt = now,
                ExpiresAt = message.ExpiresAt,
                SubmittedBy = message.SubmittedBy,
                PollIntervalMs = (int)options.Polling.Interval.TotalMilliseconds,
            });
            db.AddRange(message.Items.Select((item, index) => new LlmJobItem
            {
                JobId = message.JobId,
                ItemId = item.ItemId,
                Sequence = index,
                EntityType = item.EntityType,
                EntityId = item.EntityId,
                Input = item.Input,
                Status = LlmJobItemStatus.Queued,
                CreatedAt = now,
            }));
            await db.SaveChangesAsync(context.CancellationToken);
        }

        await context.Publish(
            new LlmJobAccepted(message.JobId, message.Items.Count, message.Priority, message.Mode, message.ExpiresAt),
            publish => publish.TrySetPriority((byte)message.Priority));
    }
}

public sealed class SubmitLlmJobConsumerDefinition : ConsumerDefinition<SubmitLlmJobConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<SubmitLlmJobConsumer> consumerConfigurator, IRegistrationContext context)
    {
        LlmJobQueues.UsePriorities(endpointConfigurator);
        endpointConfigurator.UseDatabaseRetryWithOutbox(context);
    }
}
