using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.Notifications;
using Sagas.Modules.Api;
using Sagas.Persistence;

namespace Sagas.Notifications.Webhooks;

/// <summary>
/// What operators read from <c>webhook_deliveries</c>: each configured endpoint with its recent outcomes, its deliveries
/// newest first, and the claim an operator's redelivery takes before the delivery is queued again.
/// </summary>
public sealed class WebhookDeliveryLog(SagasDbContext db, NotificationsOptions options, TimeProvider clock)
{
    public const int MaxErrorLength = 500;

    /// <summary>The endpoint summary covers this much: long enough for a night's outage, short enough to stay an index scan.</summary>
    public static readonly TimeSpan SummaryWindow = TimeSpan.FromHours(24);

    public static string? Error(string? problem) =>
        problem is { Length: > MaxErrorLength } ? problem[..MaxErrorLength] : problem;

    public async Task<IReadOnlyList<WebhookEndpointSummary>> EndpointsAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var since = now - SummaryWindow;
        var names = options.Webhooks.Select(e => e.Name).ToList();
        var groups = await db.Set<WebhookDelivery>().AsNoTracking()
            .Where(d => names.Contains(d.Endpoint) && d.CreatedAt >= since)
            .GroupBy(d => new
            {
                d.Endpoint,
                Sent = d.SentAt != null,
                Accepted = d.StatusCode >= 200 && d.StatusCode < 300,
                Claimed = d.ClaimedUntil > now,
                Failed = d.LastError != null,
            })
            .Select(g => new
            {
                g.Key.Endpoint,
                g.Key.Sent,
                g.Key.Accepted,
                g.Key.Claimed,
                g.Key.Failed,
                Count = g.Count(),
                LatencySum = g.Sum(d => (long?)d.LastLatencyMs),
                LatencyCount = g.Count(d => d.LastLatencyMs != null),
                LatencyMax = g.Max(d => d.LastLatencyMs),
                Last = g.Max(d => d.LastAttemptAt),
            })
            .ToListAsync(cancellationToken);

        return [.. options.Webhooks.Select(endpoint =>
        {
            var mine = groups.Where(g => string.Equals(g.Endpoint, endpoint.Name, StringComparison.OrdinalIgnoreCase)).ToList();
            int Count(string status) => mine.Where(g => StatusOf(g.Sent, g.Accepted, g.Claimed, g.Failed) == status).Sum(g => g.Count);
            var delivered = mine.Where(g => StatusOf(g.Sent, g.Accepted, g.Claimed, g.Failed) == WebhookDeliveryStatus.Delivered).ToList();
            var latencyCount = delivered.Sum(g => g.LatencyCount);
            return new WebhookEndpointSummary(
                endpoint.Name,
                Origin(endpoint.Url),
                endpoint.Events.Count == 0 ? [] : [.. endpoint.Events],
                new WebhookDeliveryCounts(
                    Count(WebhookDeliveryStatus.Delivered),
                    Count(WebhookDeliveryStatus.Rejected),
                    Count(WebhookDeliveryStatus.Failed),
                    Count(WebhookDeliveryStatus.Sending),
                    Count(WebhookDeliveryStatus.Queued)),
                latencyCount == 0 ? null : (int)(delivered.Sum(g => g.LatencySum ?? 0) / latencyCount),
                delivered.Max(g => g.LatencyMax),
                mine.Max(g => g.Last));
        })];
    }

    /// <returns>Null when <paramref name="endpoint"/> is neither configured nor has deliveries on record.</returns>
    public async Task<PageOf<WebhookDeliveryView>?> DeliveriesAsync(string endpoint, string? status, Paging paging, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var configured = options.Find(endpoint);
        var name = configured?.Name ?? endpoint;
        var query = db.Set<WebhookDelivery>().AsNoTracking().Where(d => d.Endpoint == name);
        if (configured is null && !await query.AnyAsync(cancellationToken))
            return null;
        if (status is not null)
            query = query.Where(Is(status, now));
        var total = await query.CountAsync(cancellationToken);
        var rows = await query.OrderByDescending(d => d.CreatedAt).ThenBy(d => d.WebhookId)
            .Skip(paging.Skip).Take(paging.PageSize)
            .Select(d => new { d.WebhookId, d.EventType, d.SentAt, d.StatusCode, d.ClaimedUntil, d.LastError, d.Attempts, d.LastLatencyMs, d.CreatedAt, d.LastAttemptAt })
            .ToListAsync(cancellationToken);
        return new PageOf<WebhookDeliveryView>(
            [.. rows.Select(d => new WebhookDeliveryView(
                d.WebhookId, name, d.EventType,
                StatusOf(d.SentAt != null, d.StatusCode is >= 200 and < 300, d.ClaimedUntil > now, d.LastError != null),
                d.StatusCode, d.Attempts, d.LastLatencyMs, d.LastError, d.CreatedAt, d.LastAttemptAt, d.SentAt))],
            paging.Page, paging.PageSize, total);
    }

    /// <summary>
    /// Takes a rejected or failed delivery back to <c>queued</c> inside the caller's transaction, matching the row as it
    /// was read so that of two operators pressing at once only one queues it. The caller writes the returned message
    /// to the outbox in the same transaction.
    /// </summary>
    public async Task<WebhookRedeliveryClaim> ClaimForRedeliveryAsync(string webhookId, CancellationToken cancellationToken)
    {
        var deliveries = db.Set<WebhookDelivery>();
        var row = await deliveries.AsNoTracking().SingleOrDefaultAsync(d => d.WebhookId == webhookId, cancellationToken);
        if (row is null)
            return new WebhookRedeliveryClaim(WebhookRedeliveryOutcome.NotFound, null, null);

        var now = clock.GetUtcNow();
        var status = StatusOf(row.SentAt != null, row.StatusCode is >= 200 and < 300, row.ClaimedUntil > now, row.LastError != null);
        if (status is not (WebhookDeliveryStatus.Rejected or WebhookDeliveryStatus.Failed))
            return new WebhookRedeliveryClaim(WebhookRedeliveryOutcome.NotFailed, status, null);
        if (options.Find(row.Endpoint) is null)
            return new WebhookRedeliveryClaim(WebhookRedeliveryOutcome.EndpointGone, status, null);

        var claimed = await deliveries
            .Where(d => d.WebhookId == webhookId && d.SentAt == row.SentAt && d.StatusCode == row.StatusCode
                        && d.ClaimedUntil == row.ClaimedUntil && d.LastError == row.LastError && d.Attempts == row.Attempts)
            .ExecuteUpdateAsync(set => set
                .SetProperty(d => d.SentAt, (DateTimeOffset?)null)
                .SetProperty(d => d.StatusCode, (int?)null)
                .SetProperty(d => d.LastError, (string?)null)
                .SetProperty(d => d.ClaimedUntil, now), cancellationToken);
        if (claimed == 0)
            return new WebhookRedeliveryClaim(WebhookRedeliveryOutcome.NotFailed, WebhookDeliveryStatus.Queued, null);
        return new WebhookRedeliveryClaim(
            WebhookRedeliveryOutcome.Queued, WebhookDeliveryStatus.Queued, new DeliverWebhook(row.Endpoint, row.WebhookId, row.EventType, row.Body));
    }

    public static string StatusOf(bool sent, bool accepted, bool claimed, bool failed) =>
        sent ? accepted ? WebhookDeliveryStatus.Delivered : WebhookDeliveryStatus.Rejected
        : claimed ? WebhookDeliveryStatus.Sending
        : failed ? WebhookDeliveryStatus.Failed
        : WebhookDeliveryStatus.Queued;

    private static Expression<Func<WebhookDelivery, bool>> Is(string status, DateTimeOffset now) => status switch
    {
        WebhookDeliveryStatus.Delivered => d => d.SentAt != null && d.StatusCode >= 200 && d.StatusCode < 300,
        WebhookDeliveryStatus.Rejected => d => d.SentAt != null && (d.StatusCode == null || d.StatusCode < 200 || d.StatusCode >= 300),
        WebhookDeliveryStatus.Sending => d => d.SentAt == null && d.ClaimedUntil > now,
        WebhookDeliveryStatus.Failed => d => d.SentAt == null && d.ClaimedUntil <= now && d.LastError != null,
        WebhookDeliveryStatus.Queued => d => d.SentAt == null && d.ClaimedUntil <= now && d.LastError == null,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Not a webhook delivery status."),
    };

    /// <summary>Scheme, host and port only: a receiver's path or query often carries its own token.</summary>
    private static string Origin(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Authority) : "";
}

public static class WebhookDeliveryStatus
{
    public const string Delivered = "delivered";
    public const string Rejected = "rejected";
    public const string Failed = "failed";
    public const string Sending = "sending";
    public const string Queued = "queued";

    public static readonly IReadOnlyList<string> All = [Delivered, Rejected, Failed, Sending, Queued];
}

/// <param name="Origin">The URL's scheme, host and port; the rest stays in configuration.</param>
/// <param name="Last24Hours">Deliveries made in the last 24 hours by their status now.</param>
/// <param name="AverageLatencyMs">Of the deliveries above that were delivered, their last attempt's duration.</param>
public sealed record WebhookEndpointSummary(
    string Name,
    string Origin,
    IReadOnlyList<string> Events,
    WebhookDeliveryCounts Last24Hours,
    int? AverageLatencyMs,
    int? MaxLatencyMs,
    DateTimeOffset? LastAttemptAt);

public sealed record WebhookDeliveryCounts(int Delivered, int Rejected, int Failed, int Sending, int Queued);

public sealed record WebhookDeliveryView(
    string WebhookId,
    string Endpoint,
    string EventType,
    string Status,
    int? StatusCode,
    int Attempts,
    int? LatencyMs,
    string? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastAttemptAt,
    DateTimeOffset? SentAt);

public enum WebhookRedeliveryOutcome
{
    Queued,
    NotFound,
    NotFailed,
    EndpointGone,
}

public sealed record WebhookRedeliveryClaim(WebhookRedeliveryOutcome Outcome, string? Status, DeliverWebhook? Message);
