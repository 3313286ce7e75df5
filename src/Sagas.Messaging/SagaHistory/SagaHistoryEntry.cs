namespace Sagas.Messaging.SagaHistory;

/// <summary>
/// One event a saga instance received, or one message that faulted while the instance handled it: what an operator
/// reads as the run's history. Event rows are written in the same transaction as the saga row, so a row exists exactly
/// when the saga's change committed; fault rows are written beside it (the saga's own transaction rolled back).
/// </summary>
public class SagaHistoryEntry
{
    public const string TableName = "saga_history";
    public const int MaxNameLength = 200;
    public const int MaxMessageTypeLength = 500;
    public const int MaxFaultMessageLength = 2_000;

    public long Id { get; set; }

    /// <summary>The saga state type's name (e.g. the workflow's <c>…State</c> class): which workflow the instance belongs to.</summary>
    public string Saga { get; set; } = "";

    public Guid CorrelationId { get; set; }

    /// <summary>1, 2, 3… per instance for events, in the order they committed; null for fault rows.</summary>
    public int? Sequence { get; set; }

    public string Kind { get; set; } = SagaHistoryKind.Event;

    /// <summary>The state machine's event name.</summary>
    public string Event { get; set; } = "";

    /// <summary>The message type's short name (no namespace: message contracts carry no secret, but the row stays small).</summary>
    public string? MessageType { get; set; }

    public Guid? MessageId { get; set; }

    public string? StateBefore { get; set; }

    public string? StateAfter { get; set; }

    public DateTimeOffset At { get; set; }

    public string? FaultType { get; set; }

    public string? FaultMessage { get; set; }

    /// <summary>Fault rows: how many delivery attempts of the message faulted (retries add to it, they add no row).</summary>
    public int Attempts { get; set; }
}

public static class SagaHistoryKind
{
    public const string Event = "event";
    public const string Fault = "fault";
}
