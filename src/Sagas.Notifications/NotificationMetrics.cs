using System.Diagnostics.Metrics;
using Sagas.Core.Telemetry;

namespace Sagas.Notifications;

/// <summary><c>sagas.notifications.webhook_deliveries</c>, tagged with endpoint, event and outcome.</summary>
public static class NotificationMetrics
{
    public const string Delivered = "delivered";

    /// <summary>The receiver answered a permanent 4xx (or a redirect): not retried.</summary>
    public const string Rejected = "rejected";

    /// <summary>Transient failures outlasted the HTTP retries: the bus retries, then the error queue.</summary>
    public const string Failed = "failed";

    /// <summary>A copy of an event already sent to the endpoint: not posted again.</summary>
    public const string Duplicate = "duplicate";

    /// <summary>The endpoint was removed from configuration after the event was fanned out.</summary>
    public const string Dropped = "dropped";

    private static readonly Counter<long> Deliveries = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.notifications.webhook_deliveries", "{delivery}", "Webhook deliveries by endpoint, event type and outcome.");

    internal static void Record(string endpoint, string eventType, string outcome) =>
        Deliveries.Add(1,
            new KeyValuePair<string, object?>("endpoint", endpoint),
            new KeyValuePair<string, object?>("event", eventType),
            new KeyValuePair<string, object?>("outcome", outcome));
}
