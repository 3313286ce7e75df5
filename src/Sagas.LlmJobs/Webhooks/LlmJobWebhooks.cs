using MassTransit;
using Sagas.Contracts.LlmJobs;
using Sagas.Modules.Webhooks;

namespace Sagas.LlmJobs.Webhooks;

/// <summary>The public webhook events of LLM jobs (docs/notifications.md): part of the webhook contract, never renamed.</summary>
public static class LlmJobWebhooks
{
    public const string Finished = "llm-job.finished";
}

/// <summary>The <c>data</c> of <c>llm-job.finished</c>. Status is completed, failed or cancelled.</summary>
public sealed record LlmJobFinishedData(Guid JobId, string Status, int TotalItems, int SucceededItems, int FailedItems, int CancelledItems, DateTimeOffset FinishedAt);

/// <summary>Raises <c>llm-job.finished</c> when a job ends.</summary>
public sealed class LlmJobWebhookEvents(IWebhookPublisher webhooks) : IConsumer<LlmJobFinished>
{
    public Task Consume(ConsumeContext<LlmJobFinished> context)
    {
        var job = context.Message;
        return webhooks.PublishAsync(context, LlmJobWebhooks.Finished, job.JobId, job.FinishedAt,
            new LlmJobFinishedData(job.JobId, job.Status, job.TotalItems, job.SucceededItems, job.FailedItems, job.CancelledItems, job.FinishedAt));
    }
}
