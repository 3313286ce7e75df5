using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Sagas.Notifications.Webhooks;

/// <summary>
/// One webhook event for one endpoint (its <see cref="WebhookId"/>: event type, subject and endpoint), claimed before
/// the POST and marked sent after it. However often the event is published or delivered (an outbox row published again
/// after a crash, a broker redelivery, two workers at once), the receiver is posted it once.
/// </summary>
public class WebhookDelivery
{
    public const string TableName = "webhook_deliveries";

    public string WebhookId { get; set; } = "";

    public string Endpoint { get; set; } = "";

    public string EventType { get; set; } = "";

    /// <summary>Until when the process that claimed it may still be posting; after that a copy may take it over.</summary>
    public DateTimeOffset ClaimedUntil { get; set; }

    /// <summary>Set once the receiver answered for good (delivered, or rejected with a 4xx): never posted again.</summary>
    public DateTimeOffset? SentAt { get; set; }

    public int? StatusCode { get; set; }

    /// <summary>When the first copy claimed it: the order of the endpoint's delivery list.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>POSTs made, over every bus attempt, takeover and operator redelivery (HTTP retries included).</summary>
    public int Attempts { get; set; }

    public DateTimeOffset? LastAttemptAt { get; set; }

    /// <summary>How long the last attempt took, its HTTP retries included: what the receiver costs us.</summary>
    public int? LastLatencyMs { get; set; }

    /// <summary>Why the last attempt did not deliver (<c>HTTP 503</c>, a connection error); null once delivered.</summary>
    public string? LastError { get; set; }

    /// <summary>
    /// The signed body, kept so an operator can send a rejected delivery again after the receiver was fixed: the bus
    /// message of a 4xx is consumed and gone. Event data only; the secret and URL stay in configuration.
    /// </summary>
    public string Body { get; set; } = "";
}

internal sealed class WebhookDeliveryMapping : IEntityTypeConfiguration<WebhookDelivery>
{
    public void Configure(EntityTypeBuilder<WebhookDelivery> builder)
    {
        builder.ToTable(WebhookDelivery.TableName);
        builder.HasKey(x => x.WebhookId);
        builder.Property(x => x.WebhookId).HasMaxLength(100);
        builder.Property(x => x.Endpoint).HasMaxLength(100);
        builder.Property(x => x.EventType).HasMaxLength(200);
        builder.Property(x => x.LastError).HasMaxLength(WebhookDeliveryLog.MaxErrorLength);
        // The endpoint's page lists its newest deliveries; retention deletes by age.
        builder.HasIndex(x => new { x.Endpoint, x.CreatedAt });
        builder.HasIndex(x => x.CreatedAt);
    }
}
