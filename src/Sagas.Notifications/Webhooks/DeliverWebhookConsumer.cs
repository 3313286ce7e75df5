using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.Notifications;

namespace Sagas.Notifications.Webhooks;

/// <summary>
/// POSTs one event to one endpoint. Delivered or permanently rejected (4xx): done. Transient failures that outlast the
/// HTTP retries throw, so the bus retries the message and finally moves it to the error queue (failed_messages).
/// Logs name the event, endpoint and status; never the secret or the body.
/// </summary>
public sealed class DeliverWebhookConsumer(NotificationsOptions options, WebhookSender sender, ILogger<DeliverWebhookConsumer> logger)
    : IConsumer<DeliverWebhook>
{
    public async Task Consume(ConsumeContext<DeliverWebhook> context)
    {
        var message = context.Message;
        var endpoint = options.Find(message.Endpoint);
        if (endpoint is null)
        {
            logger.LogWarning("Webhook {WebhookId} ({EventType}) dropped: endpoint {Endpoint} is no longer configured",
                message.WebhookId, message.EventType, message.Endpoint);
            NotificationMetrics.Record(message.Endpoint, message.EventType, NotificationMetrics.Dropped);
            return;
        }

        var result = await sender.SendAsync(endpoint, message, context.CancellationToken);
        switch (result.Outcome)
        {
            case WebhookSendOutcome.Delivered:
                logger.LogInformation("Webhook {WebhookId} ({EventType}) delivered to {Endpoint}: HTTP {StatusCode}",
                    message.WebhookId, message.EventType, endpoint.Name, result.StatusCode);
                NotificationMetrics.Record(endpoint.Name, message.EventType, NotificationMetrics.Delivered);
                return;

            case WebhookSendOutcome.Rejected:
                logger.LogWarning("Webhook {WebhookId} ({EventType}) rejected by {Endpoint}: HTTP {StatusCode}; not retried",
                    message.WebhookId, message.EventType, endpoint.Name, result.StatusCode);
                NotificationMetrics.Record(endpoint.Name, message.EventType, NotificationMetrics.Rejected);
                return;

            default:
                logger.LogWarning("Webhook {WebhookId} ({EventType}) to {Endpoint} failed after retries: {Problem}",
                    message.WebhookId, message.EventType, endpoint.Name, result.Problem);
                NotificationMetrics.Record(endpoint.Name, message.EventType, NotificationMetrics.Failed);
                throw new WebhookDeliveryException(endpoint.Name, message.EventType, message.WebhookId, result.Problem);
        }
    }
}

/// <summary>A delivery that may succeed later; the bus retries it, then the error queue keeps it for redelivery.</summary>
public sealed class WebhookDeliveryException(string endpoint, string eventType, string webhookId, string? problem)
    : Exception($"Webhook {webhookId} ({eventType}) to endpoint '{endpoint}' failed: {problem}");

public sealed class DeliverWebhookConsumerDefinition : ConsumerDefinition<DeliverWebhookConsumer>
{
    public const string QueueName = "notifications-webhook-deliveries";

    public DeliverWebhookConsumerDefinition()
    {
        EndpointName = QueueName;
        // Bounds the sockets one process holds open to slow receivers.
        ConcurrentMessageLimit = 16;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<DeliverWebhookConsumer> consumerConfigurator, IRegistrationContext context)
    {
        var options = context.GetRequiredService<NotificationsOptions>();
        if (options.MessageRetries == 0)
            return;
        var interval = options.MessageRetryInterval;
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Handle<WebhookDeliveryException>();
            retry.Exponential(options.MessageRetries, interval, interval * 8, interval);
        });
    }
}
