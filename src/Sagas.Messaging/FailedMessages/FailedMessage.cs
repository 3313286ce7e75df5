namespace Sagas.Messaging.FailedMessages;

/// <summary>
/// A message MassTransit moved to an <c>_error</c> queue once its retries ran out: an index over what the error
/// queues hold, with what it takes to send the message back to the queue it failed on. One row per message id and
/// queue: a message that fails there again updates its row instead of adding one.
/// </summary>
public class FailedMessage
{
    public const string TableName = "failed_messages";
    public const int MaxExceptionMessageLength = 4_000;
    public const int MaxStackTraceLength = 8_000;

    public Guid Id { get; set; }

    public Guid MessageId { get; set; }

    /// <summary>The message type URNs of the envelope, comma separated; empty when the body could not be read at all.</summary>
    public string MessageTypes { get; set; } = "";

    /// <summary>The receive endpoint's queue the message failed on (its error queue is this name + <c>_error</c>).</summary>
    public string Queue { get; set; } = "";

    public string ExceptionType { get; set; } = "";

    public string ExceptionMessage { get; set; } = "";

    public string? StackTrace { get; set; }

    public DateTimeOffset FaultedAt { get; set; }

    public byte[] Body { get; set; } = [];

    public string ContentType { get; set; } = "";

    /// <summary>
    /// JSON object of the MassTransit transport headers redelivery needs (<c>MT-*</c> minus fault, host and
    /// redelivery bookkeeping). Nothing else the sender put on the wire is kept, so no credential ends up here.
    /// </summary>
    public string Headers { get; set; } = "{}";

    /// <summary>Set when the message was sent back to its queue; cleared when it fails there again.</summary>
    public DateTimeOffset? RedeliveredAt { get; set; }

    public int RedeliveryCount { get; set; }
}
