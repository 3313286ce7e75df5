using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.LlmJobs;
using Sagas.Contracts.Notifications;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Contracts.ScanSessions;

namespace Sagas.Notifications.Webhooks;

/// <summary>
/// Turns a finished-work event into one <see cref="DeliverWebhook"/> per endpoint that wants it, so each endpoint
/// succeeds, retries and fails on its own message: one endpoint down never re-posts to the others.
/// </summary>
public sealed class WebhookEventConsumer(NotificationsOptions options, TimeProvider time, ILogger<WebhookEventConsumer> logger) :
    IConsumer<LlmJobFinished>,
    IConsumer<ScanSessionCompleted>,
    IConsumer<ScanSessionFailed>,
    IConsumer<PromptAnalysisFinished>,
    IConsumer<PromptAnalysisRunFinished>
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Task Consume(ConsumeContext<LlmJobFinished> context)
    {
        var job = context.Message;
        return FanOutAsync(context, WebhookEventTypes.LlmJobFinished, job.JobId, job.FinishedAt,
            new LlmJobFinishedData(job.JobId, job.Status, job.TotalItems, job.SucceededItems, job.FailedItems, job.CancelledItems, job.FinishedAt));
    }

    public Task Consume(ConsumeContext<ScanSessionCompleted> context)
    {
        var session = context.Message;
        return FanOutAsync(context, WebhookEventTypes.ScanSessionCompleted, session.SessionId, SentAt(context),
            new ScanSessionCompletedData(session.SessionId, session.TotalMatches, session.TotalProcessed));
    }

    public Task Consume(ConsumeContext<ScanSessionFailed> context)
    {
        var session = context.Message;
        return FanOutAsync(context, WebhookEventTypes.ScanSessionFailed, session.SessionId, SentAt(context),
            new ScanSessionFailedData(session.SessionId, session.Reason));
    }

    public Task Consume(ConsumeContext<PromptAnalysisFinished> context)
    {
        var analysis = context.Message;
        return FanOutAsync(context, WebhookEventTypes.PromptAnalysisFinished, analysis.AnalysisId, SentAt(context),
            new PromptAnalysisFinishedData(analysis.AnalysisId, analysis.RunId, analysis.PromptId, analysis.Status,
                analysis.TotalPlatforms, analysis.SucceededPlatforms, analysis.FailedPlatforms));
    }

    public Task Consume(ConsumeContext<PromptAnalysisRunFinished> context)
    {
        var run = context.Message;
        return FanOutAsync(context, WebhookEventTypes.PromptAnalysisRunFinished, run.RunId, run.FinishedAt,
            new PromptAnalysisRunFinishedData(run.RunId, run.Trigger, run.Scope, run.TotalAnalyses, run.CompletedAnalyses, run.FailedAnalyses, run.FinishedAt));
    }

    private async Task FanOutAsync<TData>(ConsumeContext context, string eventType, Guid subjectId, DateTimeOffset occurredAt, TData data)
    {
        var endpoints = options.Webhooks.Where(endpoint => endpoint.Wants(eventType)).ToList();
        foreach (var endpoint in endpoints)
        {
            var webhookId = WebhookIds.For(eventType, subjectId, endpoint.Name);
            var body = JsonSerializer.Serialize(new WebhookEnvelope<TData>(eventType, webhookId, occurredAt, data), Json);
            await context.Publish(new DeliverWebhook(endpoint.Name, webhookId, eventType, body), context.CancellationToken);
        }

        logger.LogDebug("Webhook event {EventType} for {SubjectId} queued for {Endpoints} endpoint(s)", eventType, subjectId, endpoints.Count);
    }

    /// <summary>The publish time travels with the message, so a redelivered event yields the same body.</summary>
    private DateTimeOffset SentAt(ConsumeContext context) =>
        context.SentTime is { } sent ? new DateTimeOffset(DateTime.SpecifyKind(sent, DateTimeKind.Utc)) : time.GetUtcNow();
}

/// <summary>The body every webhook POST carries.</summary>
public sealed record WebhookEnvelope<TData>(string Type, string Id, DateTimeOffset Timestamp, TData Data);

public sealed class WebhookEventConsumerDefinition : ConsumerDefinition<WebhookEventConsumer>
{
    public const string QueueName = "notifications-webhook-events";

    public WebhookEventConsumerDefinition() => EndpointName = QueueName;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<WebhookEventConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Intervals(100, 1000, 5000));
        // The deliveries leave only when the whole fan-out succeeded; a retried event does not queue half of them twice.
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}
