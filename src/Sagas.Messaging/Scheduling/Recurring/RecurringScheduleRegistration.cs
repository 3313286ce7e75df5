using MassTransit.Context;
using MassTransit.Scheduling;
using MassTransit.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace Sagas.Messaging.Scheduling.Recurring;

public static class RecurringScheduleRegistration
{
    /// <summary>
    /// Declares a recurring schedule: every time <paramref name="defaultCron"/> (Quartz syntax, with seconds) fires in
    /// <paramref name="defaultTimeZone"/>, the message from <paramref name="createMessage"/> is sent to
    /// <paramref name="destinationQueue"/>. Operators override cron, time zone and enabled state under
    /// <c>Scheduling:Schedules:{name}</c>. The scheduler process registers it at start-up, replacing any earlier
    /// version, so declaring it in every process is harmless; the message is created once per start.
    /// </summary>
    public static IServiceCollection AddRecurringSchedule<TMessage>(
        this IServiceCollection services,
        string name,
        string defaultCron,
        string destinationQueue,
        Func<TMessage> createMessage,
        string defaultTimeZone = "UTC",
        MissedEventPolicy misfirePolicy = MissedEventPolicy.Skip)
        where TMessage : class
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(defaultCron);
        ArgumentException.ThrowIfNullOrWhiteSpace(destinationQueue);
        ArgumentNullException.ThrowIfNull(createMessage);

        services.AddSingleton(new RecurringScheduleDeclaration(
            name,
            defaultCron,
            defaultTimeZone,
            destinationQueue,
            typeof(TMessage),
            () => SystemTextJsonMessageSerializer.Instance.GetMessageBody(new MessageSendContext<TMessage>(createMessage())).GetString(),
            misfirePolicy));
        return services;
    }
}
