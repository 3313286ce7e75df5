using MassTransit;

namespace Sagas.Modules.Webhooks;

/// <summary>
/// Raises one public webhook event: every configured endpoint that wants <paramref name="eventType"/> gets its own
/// signed delivery. Call it from a consumer registered with <see cref="WebhookRegistry.Consumer{TConsumer}"/>; the
/// deliveries leave only if that consumer succeeds.
/// </summary>
public interface IWebhookPublisher
{
    /// <param name="subjectId">The session, job or run the event is about; with the event type it makes the deterministic <c>webhook-id</c>.</param>
    /// <param name="data">The event's <c>data</c>, serialised with web (camelCase) names.</param>
    Task PublishAsync<TData>(ConsumeContext context, string eventType, Guid subjectId, DateTimeOffset occurredAt, TData data);

    /// <summary>When <paramref name="context"/>'s message was sent: it travels with the message, so a redelivery builds the same body.</summary>
    DateTimeOffset SentAt(ConsumeContext context);
}

/// <summary>What workflows add to the outgoing webhooks: the public event names (a contract: never rename one) and their consumers.</summary>
public sealed class WebhookRegistry
{
    private readonly List<string> _events = [];
    private readonly List<Type> _consumers = [];

    public IReadOnlyList<string> Events => _events;

    public IReadOnlyList<Type> Consumers => _consumers;

    /// <summary>A public event name such as <c>scan-session.completed</c>.</summary>
    public WebhookRegistry Event(string eventType)
    {
        if (_events.Contains(eventType))
            throw new InvalidOperationException($"The webhook event '{eventType}' is declared twice.");
        _events.Add(eventType);
        return this;
    }

    /// <summary>A consumer of bus events that raises webhook events through <see cref="IWebhookPublisher"/>.</summary>
    public WebhookRegistry Consumer<TConsumer>()
        where TConsumer : class, IConsumer
    {
        _consumers.Add(typeof(TConsumer));
        return this;
    }
}
