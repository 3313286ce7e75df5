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
    }
}
