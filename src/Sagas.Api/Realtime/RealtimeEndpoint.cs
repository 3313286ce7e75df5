using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.EntityFrameworkCore;
using Sagas.Api.Infrastructure;
using Sagas.Api.ScanSessions;
using Sagas.Persistence;
using Sagas.Persistence.LlmJobs;
using Sagas.Persistence.ScanSessions;

namespace Sagas.Api.Realtime;

/// <summary>
/// <c>/ws</c>: the seed's protocol. Client messages are JSON text frames with an <c>action</c>:
/// <c>start_scan</c> (token, file_content, target_hole_codes), <c>subscribe</c> (session_id or llm_job_id).
/// A bad message gets an <c>ERROR</c> and the socket stays open; a message over the size limit closes it with 1009.
/// Authentication is the API's (header, or <c>?access_token=</c> on the upgrade).
/// </summary>
public static class RealtimeEndpoint
{
    public const string Path = "/ws";

    public static WebApplication MapRealtimeEndpoint(this WebApplication app)
    {
        app.Map(Path, HandleAsync).WithTags("Real time").WithSummary("WebSocket: live scan session and LLM job messages.");
        return app;
    }

    private static async Task<IResult> HandleAsync(HttpContext http, RealtimeHub hub, RealtimeOptions options, IServiceScopeFactory scopes, MutationRateLimiter mutations, TimeProvider clock, ILoggerFactory loggers)
    {
        if (!http.WebSockets.IsWebSocketRequest)
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "WebSocket required", detail: $"{Path} speaks WebSocket only.");

        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        using var connection = hub.Open(socket);
        var logger = loggers.CreateLogger(typeof(RealtimeEndpoint));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, connection.Aborted);
        var writer = connection.RunWriterAsync(http.RequestAborted);
        var session = new SocketSession(connection, hub, scopes, clock, http.User.Identity?.Name, () => mutations.TryAcquire(MutationRateLimiter.CallerKey(http)), mutations.RefusalMessage);
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

    /// <summary>The per-socket protocol state machine: parses one client message and answers it.</summary>
    /// <param name="acquireMutation">The caller's token from the budget <c>POST /api/scan-sessions</c> draws on too.</param>
    private sealed class SocketSession(
        RealtimeConnection connection,
        RealtimeHub hub,
        IServiceScopeFactory scopes,
        TimeProvider clock,
        string? caller,
        Func<RateLimitLease> acquireMutation,
        string refusal)
    {
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
                    connection.Send(RealtimeMessages.Error("The message must be a JSON object with an \"action\": start_scan or subscribe."));
                    return;
                }

                switch (action.GetString())
                {
                    case "start_scan":
                        await StartScanAsync(root, cancellationToken);
                        break;
                    case "subscribe":
                        await SubscribeAsync(root, cancellationToken);
                        break;
                    default:
                        connection.Send(RealtimeMessages.Error("Unknown action; use start_scan or subscribe."));
                        break;
                }
            }
        }

        private async Task StartScanAsync(JsonElement root, CancellationToken cancellationToken)
        {
            using (var lease = acquireMutation())
            {
                if (!lease.IsAcquired)
                {
                    connection.Send(RealtimeMessages.Error($"Too many requests: {refusal}"));
                    return;
                }
            }

            if (!TryReadCodes(root, out var codes))
            {
                connection.Send(RealtimeMessages.Error("target_hole_codes must be an array of strings."));
                return;
            }

            if (!root.TryGetProperty("file_content", out var contentElement) || contentElement.ValueKind != JsonValueKind.String)
            {
                connection.Send(RealtimeMessages.Error("file_content (base64 of a manifest, a ZIP or a single file) is required."));
                return;
            }

            if (!contentElement.TryGetBytesFromBase64(out var content))
            {
                connection.Send(RealtimeMessages.Error("file_content is not valid base64."));
                return;
            }

            var submission = new ScanSessionSubmission
            {
                Codes = codes,
                FileContent = content,
                FileContentName = root.TryGetProperty("file_name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null,
                DriveToken = root.TryGetProperty("token", out var token) && token.ValueKind == JsonValueKind.String ? token.GetString() : null,
                RequestedBy = caller,
            };

            await using var scope = scopes.CreateAsyncScope();
            var starter = scope.ServiceProvider.GetRequiredService<ScanSessionStarter>();
            var (_, error) = await starter.StartAsync(submission, cancellationToken, sessionId =>
            {
                // STARTED goes into the queue before the subscription, so it precedes every event of the session.
                connection.Send(RealtimeMessages.Started(sessionId, clock.GetUtcNow()));
                hub.Subscribe(RealtimeHub.ScanTopic(sessionId), connection);
            });
            if (error is not null)
                connection.Send(RealtimeMessages.Error(error.Message));
        }

        private async Task SubscribeAsync(JsonElement root, CancellationToken cancellationToken)
        {
            if (TryReadId(root, "session_id", out var sessionId))
            {
                await SubscribeToSessionAsync(sessionId, cancellationToken);
                return;
            }

            if (TryReadId(root, "llm_job_id", out var jobId))
            {
                await SubscribeToLlmJobAsync(jobId, cancellationToken);
                return;
            }

            connection.Send(RealtimeMessages.Error("subscribe needs a session_id or an llm_job_id (a GUID)."));
        }

        private async Task SubscribeToSessionAsync(Guid sessionId, CancellationToken cancellationToken)
        {
            // Subscribed before the state is read: an event between the two arrives (perhaps twice), never lost.
            hub.Subscribe(RealtimeHub.ScanTopic(sessionId), connection);
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
            var session = await db.Set<ScanSession>().AsNoTracking().SingleOrDefaultAsync(s => s.Id == sessionId, cancellationToken);
            if (session is null)
            {
                connection.Send(RealtimeMessages.Error($"There is no scan session {sessionId}.", sessionId));
                return;
            }

            connection.Send(RealtimeMessages.State(session));
            if (session.TotalFiles is { } total)
                connection.Send(RealtimeMessages.Progress(sessionId, session.ProcessedFiles, total));
            switch (session.Status)
            {
                case ScanSessionStatus.Completed when session.ReportBlobKey is { } key:
                    var link = await RealtimeEventConsumer.DownloadLinkAsync(scope.ServiceProvider, sessionId, key, cancellationToken);
                    connection.Send(RealtimeMessages.Complete(sessionId, link, session.TotalMatches, session.ProcessedFiles));
                    break;
                case ScanSessionStatus.Failed:
                    connection.Send(RealtimeMessages.Error(session.Error ?? "The session failed.", sessionId));
                    break;
                case ScanSessionStatus.Cancelled:
                    connection.Send(RealtimeMessages.Error("The session was cancelled.", sessionId));
                    break;
            }
        }

        private async Task SubscribeToLlmJobAsync(Guid jobId, CancellationToken cancellationToken)
        {
            hub.Subscribe(RealtimeHub.LlmJobTopic(jobId), connection);
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
            var job = await db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId, cancellationToken);
            if (job is null)
            {
                // A job just submitted is stored within moments; the subscription stays and its events will come.
                connection.Send(RealtimeMessages.Error($"There is no LLM job {jobId} yet."));
                return;
            }

            connection.Send(RealtimeMessages.LlmJobState(RealtimeMessages.LlmJobStateType, job));
            if (!job.IsActive)
                connection.Send(RealtimeMessages.LlmJobState(RealtimeMessages.LlmJobCompleteType, job));
        }

        private static bool TryReadId(JsonElement root, string property, out Guid id)
        {
            id = Guid.Empty;
            return root.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String && Guid.TryParse(value.GetString(), out id);
        }

        private static bool TryReadCodes(JsonElement root, out List<string?> codes)
        {
            codes = [];
            if (!root.TryGetProperty("target_hole_codes", out var array) || array.ValueKind != JsonValueKind.Array)
                return false;
            foreach (var code in array.EnumerateArray())
            {
                if (code.ValueKind != JsonValueKind.String)
                    return false;
                codes.Add(code.GetString());
            }

            return true;
        }
    }
}
