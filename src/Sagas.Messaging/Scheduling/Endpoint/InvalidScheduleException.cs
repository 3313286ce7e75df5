namespace Sagas.Messaging.Scheduling.Endpoint;

/// <summary>
/// A scheduling request that can never be carried out (unreadable payload, unusable destination, bad cron).
/// It is not retried: the request goes to the scheduler's error queue with this message as the fault reason.
/// The cause is part of the message rather than an inner exception: MassTransit's fault reason header carries the
/// innermost exception's message, and the reason must name the request.
/// </summary>
public sealed class InvalidScheduleException(string message) : Exception(message);
