using MassTransit.Scheduling;

namespace Sagas.Messaging.Scheduling.Recurring;

/// <summary>
/// A recurring schedule a feature declares in code: its name (the key operators use in
/// <c>Scheduling:Schedules:{name}</c> and in the API), default cron and time zone, the queue the message goes to and
/// the message itself.
/// </summary>
public sealed class RecurringScheduleDeclaration
{
    private readonly Func<string> _serializeMessage;

    internal RecurringScheduleDeclaration(
        string name,
        string defaultCron,
        string defaultTimeZone,
        string destinationQueue,
        Type messageType,
        Func<string> serializeMessage,
        MissedEventPolicy misfirePolicy)
    {
        Name = name;
        DefaultCron = defaultCron;
        DefaultTimeZone = defaultTimeZone;
        DestinationQueue = destinationQueue;
        MessageType = messageType;
        MisfirePolicy = misfirePolicy;
        _serializeMessage = serializeMessage;
    }

    public string Name { get; }

    public string DefaultCron { get; }

    public string DefaultTimeZone { get; }

    /// <summary>A queue name (<c>llm-job-poll</c>) or a full address.</summary>
    public string DestinationQueue { get; }

    public Type MessageType { get; }

    public MissedEventPolicy MisfirePolicy { get; }

    public Uri DestinationAddress =>
        DestinationQueue.Contains(':', StringComparison.Ordinal) && Uri.TryCreate(DestinationQueue, UriKind.Absolute, out var absolute)
            ? absolute
            : new Uri($"queue:{DestinationQueue}");

    /// <summary>The message as an envelope of the default serializer: what the scheduled job sends at every fire.</summary>
    internal string SerializeMessage() => _serializeMessage();
}
