namespace Sagas.Scheduling.Endpoint;

/// <summary>
/// A scheduling request that can never be carried out (unreadable payload, unusable destination, bad cron).
/// It is not retried: the request goes to the scheduler's error queue with this message as the fault reason.
/// </summary>
public sealed class InvalidScheduleException(string message, Exception? innerException = null) : Exception(message, innerException);
