using MassTransit;

namespace Sagas.Messaging.Scheduling;

public static class ScheduledFireTime
{
    /// <summary>
    /// The instant the scheduler meant this message to leave (its <c>MT-Quartz-Scheduled</c> header), in UTC; null for a
    /// message sent by hand or through a transport's own delay. Serialisers hand the header back as an offset, a date
    /// or text, depending on the transport.
    /// </summary>
    public static DateTimeOffset? Of(ConsumeContext context)
    {
        if (!context.Headers.TryGetHeader(MessageHeaders.Quartz.Scheduled, out var value))
            return null;
        return value switch
        {
            DateTimeOffset offset => offset.ToUniversalTime(),
            DateTime dateTime => new DateTimeOffset(DateTime.SpecifyKind(dateTime, DateTimeKind.Utc)),
            string text when DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out var parsed) => parsed,
            _ => null,
        };
    }
}
