using Sagas.Messaging.Outbox;
using Sagas.Modules.Api;
using Sagas.Notifications.Webhooks;
using Sagas.Persistence;

namespace Sagas.Api.System;

/// <summary>The outgoing webhook endpoints, their recent deliveries, and sending a rejected or failed one again (docs/notifications.md).</summary>
public static class WebhookDeliveryEndpoints
{
    private const int MaxIdLength = 100;

    public static RouteGroupBuilder MapWebhookDeliveryEndpoints(this RouteGroupBuilder group)
    {
        group.MapGet("/webhooks", async (WebhookDeliveryLog log, CancellationToken cancellationToken) =>
                Results.Ok(new WebhookEndpointList(await log.EndpointsAsync(cancellationToken))))
            .WithName("ListWebhookEndpoints")
            .WithSummary("Each configured webhook endpoint (its URL's origin only) with the outcomes of its deliveries of the last 24 hours.")
            .Produces<WebhookEndpointList>();
        group.MapGet("/webhooks/{endpoint}/deliveries", ListDeliveriesAsync)
            .WithName("ListWebhookDeliveries")
            .WithSummary("One endpoint's deliveries, newest first, optionally of one status: delivered, rejected, failed, sending or queued.")
            .Produces<PageOf<WebhookDeliveryView>>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/webhooks/deliveries/{webhookId}/redeliver", RedeliverAsync).Mutation()
            .WithName("RedeliverWebhook")
            .WithSummary("Queues a rejected or failed delivery again, with the same webhook-id and body; the receiver is posted it once more.")
            .Produces<WebhookRedeliveryView>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return group;
    }

    private static async Task<IResult> ListDeliveriesAsync(
        string endpoint, string? status, int? page, int? pageSize, WebhookDeliveryLog log, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var wanted = string.IsNullOrWhiteSpace(status) ? null : status.Trim().ToLowerInvariant();
        if (wanted is not null && !WebhookDeliveryStatus.All.Contains(wanted))
            errors["status"] = [$"status must be one of {string.Join(", ", WebhookDeliveryStatus.All)}."];
        if (!Paging.TryCreate(page, pageSize, errors, out var paging) || errors.Count > 0)
            return Results.ValidationProblem(errors);

        var deliveries = endpoint.Length > MaxIdLength ? null : await log.DeliveriesAsync(endpoint, wanted, paging, cancellationToken);
        return deliveries is null
            ? Results.Problem(
                title: "Unknown webhook endpoint",
                detail: $"No webhook endpoint is named '{Shorten(endpoint)}' and none by that name has deliveries on record. GET /api/system/webhooks lists them.",
                statusCode: StatusCodes.Status404NotFound)
            : Results.Ok(deliveries);
    }

    private static async Task<IResult> RedeliverAsync(
        string webhookId, WebhookDeliveryLog log, SagasDbContext db, OutboxWriter outbox, ILoggerFactory logs, CancellationToken cancellationToken)
    {
        if (webhookId.Length > MaxIdLength)
            return UnknownDelivery(webhookId);

        WebhookRedeliveryClaim claim;
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            claim = await log.ClaimForRedeliveryAsync(webhookId, cancellationToken);
            if (claim.Message is { } message)
            {
                // The same transaction: a crash cannot leave the row queued with nothing on its way.
                outbox.Add(message);
                await db.SaveChangesAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        switch (claim.Outcome)
        {
            case WebhookRedeliveryOutcome.Queued:
                outbox.Flush();
                logs.CreateLogger(typeof(WebhookDeliveryEndpoints)).LogInformation(
                    "Webhook {WebhookId} ({EventType}) to {Endpoint} queued again by an operator", webhookId, claim.Message!.EventType, claim.Message.Endpoint);
                return Results.Accepted(value: new WebhookRedeliveryView(webhookId, WebhookDeliveryStatus.Queued));
            case WebhookRedeliveryOutcome.NotFailed:
                return Results.Problem(
                    title: "Not a failed delivery",
                    detail: $"Webhook {webhookId} is {claim.Status}: only a rejected or failed delivery is sent again.",
                    statusCode: StatusCodes.Status409Conflict);
            case WebhookRedeliveryOutcome.EndpointGone:
                return Results.Problem(
                    title: "Endpoint no longer configured",
                    detail: $"Webhook {webhookId} was for an endpoint that is no longer in Notifications:Webhooks; configure it again to send this delivery.",
                    statusCode: StatusCodes.Status409Conflict);
            default:
                return UnknownDelivery(webhookId);
        }
    }

    private static IResult UnknownDelivery(string webhookId) => Results.Problem(
        title: "Unknown webhook delivery",
        detail: $"No webhook delivery has id '{Shorten(webhookId)}'. GET /api/system/webhooks/{{endpoint}}/deliveries lists them.",
        statusCode: StatusCodes.Status404NotFound);

    // An echoed path segment stays short; it is the caller's own input.
    private static string Shorten(string value) => value.Length > MaxIdLength ? value[..MaxIdLength] + "…" : value;
}

public sealed record WebhookEndpointList(IReadOnlyList<WebhookEndpointSummary> Endpoints);

public sealed record WebhookRedeliveryView(string WebhookId, string Status);
