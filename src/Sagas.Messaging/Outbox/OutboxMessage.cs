namespace Sagas.Messaging.Outbox;

/// <summary>
/// An event written in the same transaction as the change it reports, published afterwards by
/// <see cref="OutboxDispatcher"/> and then deleted. This is what makes "the row changed" and "the event was published"
/// one fact for consumers that write domain rows and for the sagas' events (<see cref="SagaOutbox"/>).
/// </summary>
public class OutboxMessage
{
    public long Id { get; set; }

    /// <summary>Stable across re-publishing after a crash, so receivers can recognise a duplicate.</summary>
    public Guid MessageId { get; set; }

    public string MessageType { get; set; } = "";

    public string Body { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }
}
