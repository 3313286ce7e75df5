using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Sagas.Integration.Tests.Faults;

/// <summary>
/// A client of an API process's WebSocket <c>/ws</c>, as the seed's scanner client is: it keeps every message it
/// receives, in order, so a spec can check that no event reached it twice.
/// </summary>
public sealed class RealtimeProbe : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;

    private RealtimeProbe(ClientWebSocket socket)
    {
        _socket = socket;
        _reader = Task.Run(ReadAsync);
    }

    public ConcurrentQueue<JsonElement> Received { get; } = new();

    /// <summary>Why the reader stopped early (the server closed or dropped the socket), if it did.</summary>
    public string? Problem { get; private set; }

    public static async Task<RealtimeProbe> ConnectAsync(Uri api, string apiKey)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("X-Api-Key", apiKey);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(new UriBuilder(api) { Scheme = api.Scheme == "https" ? "wss" : "ws", Path = "/ws" }.Uri, deadline.Token);
        return new RealtimeProbe(socket);
    }

    public async Task SendAsync(object message)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _socket.SendAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(message)), WebSocketMessageType.Text, endOfMessage: true, deadline.Token);
    }

    public IEnumerable<JsonElement> OfType(string type) => Received.Where(m => m.TryGetProperty("type", out var t) && t.GetString() == type);

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var received = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    Problem = $"the server closed the socket: {_socket.CloseStatus} {_socket.CloseStatusDescription}";
                    return;
                }

                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                    continue;
                Received.Enqueue(JsonDocument.Parse(message.ToArray()).RootElement.Clone());
                message.SetLength(0);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (WebSocketException exception)
        {
            Problem = $"the socket failed: {exception.Message}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _reader;
        }
        finally
        {
            _socket.Abort();
            _socket.Dispose();
            _stop.Dispose();
        }
    }
}
