using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.RateLimiting;

namespace Sagas.Modules.Realtime;

/// <summary>
/// The WebSocket <c>/ws</c> as a workflow sees it: topics it publishes to (one per session, job, …) that sockets
/// subscribe to. Publishing never waits on a client.
/// </summary>
public interface IRealtimeHub
{
    bool HasSubscribers(string topic);

    /// <summary>Sends to every socket of this API instance that follows <paramref name="topic"/>.</summary>
    void Publish(string topic, object message);

    /// <summary>Like <see cref="Publish"/>, throttled per topic on this instance; the <paramref name="final"/> one always goes out.</summary>
    void PublishProgress(string topic, object message, bool final);
}

/// <summary>
/// A message with links the server made root-relative (<c>/files/…</c>, when no public base URL is configured): each
/// socket gets them resolved against the address it connected to, since a client cannot tell what they are relative to.
/// </summary>
public interface IRealtimeLinks
{
    object WithAbsoluteLinks(Uri baseAddress);
}

/// <summary>One client socket while a workflow answers its message: send to it, subscribe it, spend its rate budget.</summary>
public interface IRealtimeSocket
{
    /// <summary>The authenticated caller's name, if any.</summary>
    string? User { get; }

    /// <summary>Services of a scope that lives as long as the message being answered.</summary>
    IServiceProvider Services { get; }

    void Send(object message);

    /// <summary>Follows <paramref name="topic"/> from now on; events published to it reach this socket.</summary>
    void Subscribe(string topic);

    /// <summary>One token of the caller's budget of state-changing requests, shared with the HTTP routes.</summary>
    RateLimitLease AcquireMutation();

    /// <summary>Why a mutation was refused, for the client.</summary>
    string MutationRefusal { get; }
}

/// <summary>Answers <c>{"action": "subscribe", "{property}": "&lt;guid&gt;"}</c>: subscribe the socket and send the current state.</summary>
public delegate Task RealtimeSubscription(Guid id, IRealtimeSocket socket, CancellationToken cancellationToken);

/// <summary>Answers <c>{"action": "{name}", …}</c>; <paramref name="message"/> is the whole client message.</summary>
public delegate Task RealtimeAction(JsonElement message, IRealtimeSocket socket, CancellationToken cancellationToken);

/// <summary>
/// What workflows add to the WebSocket: bus event consumers (run on each API instance's own temporary endpoint and
/// publishing to <see cref="IRealtimeHub"/>), <c>subscribe</c> targets and client actions.
/// </summary>
public sealed class RealtimeRegistry
{
    private readonly List<Type> _consumers = [];
    private readonly List<(string Property, RealtimeSubscription Handler)> _subscriptions = [];
    private readonly List<(string Name, RealtimeAction Handler)> _actions = [];

    public IReadOnlyList<Type> Consumers => _consumers;

    /// <summary>In registration order: the order a client's <c>subscribe</c> message is checked in.</summary>
    public IReadOnlyList<(string Property, RealtimeSubscription Handler)> Subscriptions => _subscriptions;

    public IReadOnlyList<(string Name, RealtimeAction Handler)> Actions => _actions;

    /// <summary>A consumer of bus events that relays them to <see cref="IRealtimeHub"/>.</summary>
    public RealtimeRegistry Consumer<TConsumer>()
        where TConsumer : class, MassTransit.IConsumer
    {
        _consumers.Add(typeof(TConsumer));
        return this;
    }

    public RealtimeRegistry Subscription(string idProperty, RealtimeSubscription handler)
    {
        if (_subscriptions.Any(s => s.Property == idProperty))
            throw new InvalidOperationException($"Two workflows answer subscribe with '{idProperty}'.");
        _subscriptions.Add((idProperty, handler));
        return this;
    }

    public RealtimeRegistry Action(string name, RealtimeAction handler)
    {
        if (name == RealtimeMessages.SubscribeAction || _actions.Any(a => a.Name == name))
            throw new InvalidOperationException($"The WebSocket action '{name}' is taken.");
        _actions.Add((name, handler));
        return this;
    }
}

/// <summary>Messages of the protocol itself, whatever the workflow.</summary>
public static class RealtimeMessages
{
    public const string SubscribeAction = "subscribe";

    /// <summary>The protocol's <c>ERROR</c> message; <paramref name="sessionId"/> names the session (or job) it concerns, if any.</summary>
    public static object Error(string message, Guid? sessionId = null) => new ErrorMessage("ERROR", message, sessionId);
}

public sealed record ErrorMessage(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("session_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? SessionId);
