using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.RateLimiting;
using MassTransit;
using Sagas.Core.Configuration;
using Sagas.Modules.Api;
using Sagas.Modules.Realtime;

namespace Sagas.Api.Realtime;

/// <summary>
/// <c>/ws</c>: the WebSocket protocol scanner clients already speak. Client messages are JSON text frames with an
/// <c>action</c>: the workflows' actions (e.g. <c>start_scan</c>) or <c>subscribe</c> with one of the workflows' id
/// properties (<c>session_id</c>, …).
/// A bad message gets an <c>ERROR</c> and the socket stays open; a message over the size limit closes it with 1009.
/// Authentication is the API's (header, or <c>?access_token=</c> on the upgrade).
/// </summary>
public static class RealtimeEndpoint
{
    public const string Path = "/ws";

    public static WebApplication MapRealtimeEndpoint(this WebApplication app)
    {
        app.Map(Path, HandleAsync).WithTags("Real time").WithSummary("WebSocket: live messages of the workflows (scan sessions, LLM jobs, …).");
        return app;
    }

    private static async Task<IResult> HandleAsync(HttpContext http, RealtimeHub hub, RealtimeOptions options, RealtimeRegistry registry, IServiceScopeFactory scopes, MutationRateLimiter mutations, ILoggerFactory loggers)
    {
        if (!http.WebSockets.IsWebSocketRequest)
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "WebSocket required", detail: $"{Path} speaks WebSocket only.");

        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        using var connection = hub.Open(socket, new Uri($"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}/"));
        var logger = loggers.CreateLogger(typeof(RealtimeEndpoint));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, connection.Aborted);
        var writer = connection.RunWriterAsync(http.RequestAborted);
        var session = new SocketSession(connection, hub, registry, scopes, http.User.Identity?.Name, () => mutations.TryAcquire(MutationRateLimiter.CallerKey(http)), mutations.RefusalMessage);
        try
        {
            await ReceiveAsync(socket, connection, session, options.MaxMessageBytes, logger, stop.Token);
        }
        catch (Exception exception) when (exception is OperationCanceledException or WebSocketException)
        {
            // The client vanished or was dropped for being too slow.
        }
        finally
        {
            hub.Forget(connection);
            connection.Close(WebSocketCloseStatus.NormalClosure, "Bye");
            await writer;
        }

        return Results.Empty;
    }

    private static async Task ReceiveAsync(WebSocket socket, RealtimeConnection connection, SocketSession session, int maxMessageBytes, ILogger logger, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        while (socket.State == WebSocketState.Open)
        {
            var received = await socket.ReceiveAsync(buffer, cancellationToken);
            if (received.MessageType == WebSocketMessageType.Close)
                return;
            if (message.Length + received.Count > maxMessageBytes)
            {
                connection.Close(WebSocketCloseStatus.MessageTooBig, $"Messages are limited to {maxMessageBytes} bytes.");
                return;
            }

            message.Write(buffer, 0, received.Count);
            if (!received.EndOfMessage)
                continue;

            try
            {
                if (received.MessageType != WebSocketMessageType.Text)
                    connection.Send(RealtimeMessages.Error("Send JSON text messages."));
                else
                    await session.HandleAsync(message.GetBuffer().AsMemory(0, (int)message.Length), cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // One bad request must not end the socket: the client is told, the details stay in the log.
                logger.LogError(exception, "A WebSocket message failed");
                connection.Send(RealtimeMessages.Error("The request failed; try again."));
            }

            message.SetLength(0);
        }
    }

    /// <summary>The per-socket protocol: parses one client message and hands it to the workflow that answers it.</summary>
    /// <param name="acquireMutation">The caller's token from the budget the HTTP routes draw on too.</param>
    private sealed class SocketSession(
        RealtimeConnection connection,
        RealtimeHub hub,
        RealtimeRegistry registry,
        IServiceScopeFactory scopes,
        string? caller,
        Func<RateLimitLease> acquireMutation,
        string refusal)
    {
        private string ActionNames => string.Join(" or ", [.. registry.Actions.Select(a => a.Name), RealtimeMessages.SubscribeAction]);

        public async Task HandleAsync(ReadOnlyMemory<byte> text, CancellationToken cancellationToken)
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(text);
            }
            catch (JsonException)
            {
                connection.Send(RealtimeMessages.Error("The message is not valid JSON."));
                return;
            }

            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("action", out var action) || action.ValueKind != JsonValueKind.String)
                {
                    connection.Send(RealtimeMessages.Error($"The message must be a JSON object with an \"action\": {ActionNames}."));
                    return;
                }

                var name = action.GetString();
                if (name == RealtimeMessages.SubscribeAction)
                {
                    await SubscribeAsync(root, cancellationToken);
                    return;
                }

                var handler = registry.Actions.FirstOrDefault(a => a.Name == name).Handler;
                if (handler is null)
                {
                    connection.Send(RealtimeMessages.Error($"Unknown action; use {ActionNames}."));
                    return;
                }

                await using var scope = scopes.CreateAsyncScope();
                await handler(root, NewSocket(scope.ServiceProvider), cancellationToken);
            }
        }

        private async Task SubscribeAsync(JsonElement root, CancellationToken cancellationToken)
        {
            foreach (var (property, subscribe) in registry.Subscriptions)
            {
                if (TryReadId(root, property, out var id))
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await subscribe(id, NewSocket(scope.ServiceProvider), cancellationToken);
                    return;
                }
            }

            var properties = registry.Subscriptions.Select(s => ("aeiou".Contains(s.Property[0], StringComparison.Ordinal) ? "an " : "a ") + s.Property);
            connection.Send(RealtimeMessages.Error($"subscribe needs {string.Join(" or ", properties)} (a GUID)."));
        }

        private static bool TryReadId(JsonElement root, string property, out Guid id)
        {
            id = Guid.Empty;
            return root.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String && Guid.TryParse(value.GetString(), out id);
        }

        private Socket NewSocket(IServiceProvider services) => new(connection, hub, caller, acquireMutation, refusal, services);
    }

    /// <summary>What a workflow's action or subscription sees of the socket it answers.</summary>
    private sealed class Socket(
        RealtimeConnection connection,
        RealtimeHub hub,
        string? user,
        Func<RateLimitLease> acquireMutation,
        string refusal,
        IServiceProvider services) : IRealtimeSocket
    {
        public string? User => user;

        public IServiceProvider Services => services;

        public string MutationRefusal => refusal;

        public void Send(object message) => connection.Send(message);

        public void Subscribe(string topic) => hub.Subscribe(topic, connection);

        public RateLimitLease AcquireMutation() => acquireMutation();
    }
}

public static class RealtimeRegistration
{
    private const string EventEndpointName = "realtime-events";

    /// <summary>
    /// Messages the broker hands the endpoint ahead of the one being relayed. Taken one at a time, a burst of events
    /// (a batch of files counted at once) otherwise waits a broker round trip per message: measured by the
    /// realtime-latency benchmark (docs/performance.md).
    /// </summary>
    private const int RealtimePrefetch = 128;

    /// <summary>
    /// This instance's event endpoint with every workflow's realtime consumers on it: temporary (non-durable,
    /// auto-deleted, named after the instance), so each API instance gets its own copy of every event and no queue
    /// outlives its process. One message at a time keeps each topic's events in order. Every consumer forwards a
    /// message id once (<see cref="RealtimeDeduplicator"/>).
    /// </summary>
    public static IBusRegistrationConfigurator AddRealtimeEvents(this IBusRegistrationConfigurator x, RealtimeRegistry registry)
    {
        // Random, not NewId: NewId's leading characters are its timestamp, so two instances started in the same tick
        // (two API hosts in one process, containers scaled at once) got the same exclusive queue and one never consumed.
        var instance = Guid.NewGuid().ToString("N")[..12];
        foreach (var consumer in registry.Consumers)
        {
            x.AddConsumer(consumer, typeof(RealtimeConsumerDefinition<>).MakeGenericType(consumer)).Endpoint(endpoint =>
            {
                endpoint.Name = EventEndpointName;
                endpoint.Temporary = true;
                endpoint.InstanceId = instance;
                endpoint.ConcurrentMessageLimit = 1;
                endpoint.PrefetchCount = RealtimePrefetch;
            });
        }

        return x;
    }

    public static IServiceCollection AddRealtime(this IServiceCollection services, IConfiguration configuration, RealtimeRegistry registry)
    {
        services.AddValidatedOptions<RealtimeOptions>(configuration, RealtimeOptions.SectionName);
        services.AddSingleton<RealtimeHub>();
        services.AddSingleton<RealtimeDeduplicator>();
        services.AddSingleton<IRealtimeHub>(provider => provider.GetRequiredService<RealtimeHub>());
        services.AddSingleton(registry);
        return services;
    }
}
