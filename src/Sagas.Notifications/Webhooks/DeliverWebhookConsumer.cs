using System.Runtime.CompilerServices;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Sagas.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.Notifications;

namespace Sagas.Notifications.Webhooks;

/// <summary>
/// POSTs one event to one endpoint, once: the delivery is claimed in <c>webhook_deliveries</c> (keyed by the webhook id,
/// which is the event and the endpoint) before the POST and marked sent after it, so a copy of the event (the outbox
/// published it again after a crash, the broker redelivered it, two workers took copies at once) posts nothing.
/// Delivered or permanently rejected (4xx): done. Transient failures that outlast the HTTP retries give the claim back
/// and throw, so the bus retries the message and finally moves it to the error queue (failed_messages).
/// Logs name the event, endpoint and status; never the secret or the body.
/// </summary>
public sealed class DeliverWebhookConsumer(NotificationsOptions options, WebhookSender sender, SagasDbContext db, TimeProvider clock, ILogger<DeliverWebhookConsumer> logger)
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

        if (!await ClaimAsync(message, context.CancellationToken))
        {
            logger.LogInformation("Webhook {WebhookId} ({EventType}) to {Endpoint} was already sent; this copy is dropped",
                message.WebhookId, message.EventType, endpoint.Name);
            NotificationMetrics.Record(endpoint.Name, message.EventType, NotificationMetrics.Duplicate);
            return;
        }

        var started = clock.GetTimestamp();
        var attempts = new StrongBox<int>();
        WebhookSendResult result;
        try
        {
            result = await sender.SendAsync(endpoint, message, attempts, context.CancellationToken);
        }
        catch (Exception exception)
        {
            await ReleaseAsync(message.WebhookId, new Attempt(attempts.Value, Elapsed(started)), exception.GetType().Name);
            throw;
        }

        var attempt = new Attempt(attempts.Value, Elapsed(started));

        switch (result.Outcome)
        {
            case WebhookSendOutcome.Delivered:
                await MarkSentAsync(message.WebhookId, result.StatusCode, attempt, null);
                logger.LogInformation("Webhook {WebhookId} ({EventType}) delivered to {Endpoint}: HTTP {StatusCode}",
                    message.WebhookId, message.EventType, endpoint.Name, result.StatusCode);
                NotificationMetrics.Record(endpoint.Name, message.EventType, NotificationMetrics.Delivered);
                return;

            case WebhookSendOutcome.Rejected:
                await MarkSentAsync(message.WebhookId, result.StatusCode, attempt, result.Problem);
                logger.LogWarning("Webhook {WebhookId} ({EventType}) rejected by {Endpoint}: HTTP {StatusCode}; not retried",
                    message.WebhookId, message.EventType, endpoint.Name, result.StatusCode);
                NotificationMetrics.Record(endpoint.Name, message.EventType, NotificationMetrics.Rejected);
                return;

            default:
                await ReleaseAsync(message.WebhookId, attempt, result.Problem);
                logger.LogWarning("Webhook {WebhookId} ({EventType}) to {Endpoint} failed after retries: {Problem}",
                    message.WebhookId, message.EventType, endpoint.Name, result.Problem);
                NotificationMetrics.Record(endpoint.Name, message.EventType, NotificationMetrics.Failed);
                throw new WebhookDeliveryException(endpoint.Name, message.EventType, message.WebhookId, result.Problem);
        }
    }

    /// <returns>
    /// True when this copy may post: it inserted the claim, or took over one whose lease ran out (its process died).
    /// False when the event was already sent. Throws (so the bus retries) while another copy holds a live claim.
    /// </returns>
    private async Task<bool> ClaimAsync(DeliverWebhook message, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var until = now + options.DeliveryLease;
        var inserted = await db.InsertIgnoringDuplicatesAsync(
            [new WebhookDelivery
            {
                WebhookId = message.WebhookId,
                Endpoint = message.Endpoint,
                EventType = message.EventType,
                ClaimedUntil = until,
                CreatedAt = now,
                LastAttemptAt = now,
                Body = message.Body,
            }],
            d => d.WebhookId,
            cancellationToken);
        if (inserted.Count == 1)
            return true;

        var deliveries = db.Set<WebhookDelivery>();
        var takenOver = await deliveries
            .Where(d => d.WebhookId == message.WebhookId && d.SentAt == null && d.ClaimedUntil <= now)
            .ExecuteUpdateAsync(set => set
                .SetProperty(d => d.ClaimedUntil, until)
                .SetProperty(d => d.LastAttemptAt, now), cancellationToken);
        if (takenOver == 1)
            return true;

        var sent = await deliveries.AsNoTracking().Where(d => d.WebhookId == message.WebhookId).Select(d => d.SentAt).SingleOrDefaultAsync(cancellationToken);
        if (sent is not null)
            return false;
        throw new WebhookDeliveryException(message.Endpoint, message.EventType, message.WebhookId, "another copy of this delivery is being posted");
    }

    // CancellationToken.None: once posted, the record must be written even if the consumer is being stopped.
    private Task MarkSentAsync(string webhookId, int? statusCode, Attempt attempt, string? problem)
    {
        var now = clock.GetUtcNow();
        var error = WebhookDeliveryLog.Error(problem);
        return db.Set<WebhookDelivery>().Where(d => d.WebhookId == webhookId)
            .ExecuteUpdateAsync(set => set
                .SetProperty(d => d.SentAt, now)
                .SetProperty(d => d.StatusCode, statusCode)
                .SetProperty(d => d.Attempts, d => d.Attempts + attempt.Posts)
                .SetProperty(d => d.LastLatencyMs, attempt.LatencyMs)
                .SetProperty(d => d.LastError, error), CancellationToken.None);
    }

    /// <summary>Not sent: the next attempt (a bus retry, a redelivery) may claim it at once.</summary>
    private Task ReleaseAsync(string webhookId, Attempt attempt, string? problem)
    {
        var now = clock.GetUtcNow();
        var error = WebhookDeliveryLog.Error(problem) ?? "not sent";
        return db.Set<WebhookDelivery>().Where(d => d.WebhookId == webhookId && d.SentAt == null)
            .ExecuteUpdateAsync(set => set
                .SetProperty(d => d.ClaimedUntil, now)
                .SetProperty(d => d.Attempts, d => d.Attempts + attempt.Posts)
                .SetProperty(d => d.LastLatencyMs, attempt.LatencyMs)
                .SetProperty(d => d.LastError, error), CancellationToken.None);
    }

    /// <param name="Posts">POSTs made, HTTP retries included.</param>
    /// <param name="LatencyMs">From the first POST to the last answer, retry delays included.</param>
    private readonly record struct Attempt(int Posts, int LatencyMs);

    private int Elapsed(long started) => (int)Math.Min(int.MaxValue, clock.GetElapsedTime(started).TotalMilliseconds);
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
