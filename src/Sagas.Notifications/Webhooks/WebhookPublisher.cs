using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.Notifications;
using Sagas.Modules.Webhooks;

namespace Sagas.Notifications.Webhooks;

/// <summary>
/// Turns one webhook event into one <see cref="DeliverWebhook"/> per endpoint that wants it, so each endpoint
/// succeeds, retries and fails on its own message: one endpoint down never re-posts to the others.
/// </summary>
public sealed class WebhookPublisher(NotificationsOptions options, TimeProvider time, ILogger<WebhookPublisher> logger) : IWebhookPublisher
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task PublishAsync<TData>(ConsumeContext context, string eventType, Guid subjectId, DateTimeOffset occurredAt, TData data)
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

    public DateTimeOffset SentAt(ConsumeContext context) =>
        context.SentTime is { } sent ? new DateTimeOffset(DateTime.SpecifyKind(sent, DateTimeKind.Utc)) : time.GetUtcNow();
}

/// <summary>The body every webhook POST carries.</summary>
public sealed record WebhookEnvelope<TData>(string Type, string Id, DateTimeOffset Timestamp, TData Data);

/// <summary>The one queue every workflow's webhook event consumers share.</summary>
public static class WebhookEventQueue
{
    public const string Name = "notifications-webhook-events";
}

/// <summary>Puts a workflow's webhook event consumer on <see cref="WebhookEventQueue"/>.</summary>
public sealed class WebhookEventConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    public WebhookEventConsumerDefinition() => EndpointName = WebhookEventQueue.Name;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<TConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // Per consumer, not per endpoint: several workflows' consumers share the queue and each gets one retry policy.
        consumerConfigurator.UseMessageRetry(retry => retry.Intervals(100, 1000, 5000));
        // The deliveries leave only when the whole fan-out succeeded; a retried event does not queue half of them twice.
        consumerConfigurator.UseInMemoryOutbox(context);
    }
}
