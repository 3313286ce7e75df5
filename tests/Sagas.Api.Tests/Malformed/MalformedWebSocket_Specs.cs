using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Sagas.Api.Tests.Realtime;

namespace Sagas.Api.Tests.Malformed;

/// <summary>
/// The WebSocket gets random binary frames, invalid and truncated JSON, unknown actions and wrong field types: each is
/// answered with an ERROR and the socket stays usable; an oversized frame closes it with 1009; other sockets carry on.
/// </summary>
public sealed class When_the_websocket_gets_malformed_messages : IClassFixture<MalformedApi>
{
    private const int Seed = 20261123;
    private readonly MalformedApi _api;

    public When_the_websocket_gets_malformed_messages(MalformedApi api) => _api = api;

    public static IReadOnlyList<(string Name, byte[] Frame, WebSocketMessageType Type)> MalformedFrames()
    {
        var random = new Random(Seed);
        var frames = new List<(string, byte[], WebSocketMessageType)>();
        for (var i = 0; i < 3; i++)
        {
            var bytes = new byte[random.Next(1, 4096)];
            random.NextBytes(bytes);
            frames.Add(($"random binary frame #{i}", bytes, WebSocketMessageType.Binary));
            frames.Add(($"random bytes as text #{i}", bytes, WebSocketMessageType.Text));
        }

        const string Complete = """{"action":"start_scan","target_hole_codes":["A1","B2"],"file_content":"QUJD","file_name":"a.txt"}""";
        for (var i = 0; i < 3; i++)
            frames.Add(($"truncated JSON #{i}", Encoding.UTF8.GetBytes(Complete[..random.Next(1, Complete.Length - 1)]), WebSocketMessageType.Text));

        foreach (var text in new[]
        {
            "", "null", "42", "[]", "\"subscribe\"", "{}",
            """{"action":"explode"}""",
            """{"action":5}""",
            """{"action":null}""",
            """{"action":["subscribe"]}""",
            """{"action":"subscribe"}""",
            """{"action":"subscribe","session_id":12}""",
            """{"action":"subscribe","session_id":"not-a-guid"}""",
            """{"action":"subscribe","llm_job_id":{"id":1}}""",
            $$"""{"action":"subscribe","session_id":"{{Guid.NewGuid()}}"}""",
            """{"action":"start_scan"}""",
            """{"action":"start_scan","target_hole_codes":"A1","file_content":"QUJD"}""",
            """{"action":"start_scan","target_hole_codes":[1,2],"file_content":"QUJD"}""",
            """{"action":"start_scan","target_hole_codes":["A1"],"file_content":7}""",
            """{"action":"start_scan","target_hole_codes":["A1"],"file_content":"%%% not base64 %%%"}""",
            """{"action":"start_scan","target_hole_codes":["A1"],"file_content":"","token":5,"file_name":[]}""",
            new string('[', 5000),
        })
        {
            frames.Add(($"text '{(text.Length > 60 ? text[..60] + "…" : text)}'", Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text));
        }

        return frames;
    }

    [Fact]
    public async Task Should_answer_each_malformed_message_with_an_error_and_stay_open()
    {
        await using var socket = await RawSocket.ConnectAsync(_api);
        var failures = new List<string>();
        foreach (var (name, frame, type) in MalformedFrames())
        {
            await socket.SendAsync(frame, type);
            var answer = await socket.ReceiveAsync();
            if (answer is null)
                failures.Add($"{name}: the socket closed ({socket.CloseStatus}) instead of answering ERROR.");
            else if (answer.Value.GetProperty("type").GetString() != "ERROR")
                failures.Add($"{name}: answered {answer.Value.GetRawText()}, expected ERROR.");
            if (answer is null)
                break;
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        await AssertSocketServesAsync(socket);
    }

    [Fact]
    public async Task Should_close_a_socket_sending_an_oversized_frame_with_1009_and_keep_the_others()
    {
        await using var bystander = await RawSocket.ConnectAsync(_api);
        await using var offender = await RawSocket.ConnectAsync(_api);

        var huge = new byte[MalformedApi.MaxMessageBytes + 1];
        new Random(Seed).NextBytes(huge);
        try
        {
            await offender.SendAsync(huge, WebSocketMessageType.Text);
        }
        catch (WebSocketException)
        {
            // The server may close while the frame is still being written.
        }

        Assert.Null(await offender.ReceiveAsync());
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, offender.CloseStatus);

        await AssertSocketServesAsync(bystander);
        await using var newcomer = await RawSocket.ConnectAsync(_api);
        await AssertSocketServesAsync(newcomer);
    }

    [Fact]
    public async Task Should_refuse_a_plain_http_call_with_a_problem()
    {
        using var client = _api.CreateClient();
        using var response = await client.GetAsync(new Uri("/ws", UriKind.Relative));

        Assert.Null(await Answers.CheckAsync("GET /ws without upgrade", response, status => status == 400, "400"));
    }

    /// <summary>A well-formed subscribe to an unknown session gets its ERROR naming that session: the socket still works.</summary>
    private static async Task AssertSocketServesAsync(RawSocket socket)
    {
        var sessionId = Guid.NewGuid();
        await socket.SendAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { action = "subscribe", session_id = sessionId })), WebSocketMessageType.Text);
        var answer = await socket.ReceiveAsync();
        Assert.NotNull(answer);
        Assert.Equal("ERROR", answer.Value.GetProperty("type").GetString());
        Assert.Contains(sessionId.ToString(), answer.Value.GetRawText(), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Sends frames of any type and bytes, which <see cref="ProtocolClient"/> (JSON text only) cannot.</summary>
    private sealed class RawSocket : IAsyncDisposable
    {
        private readonly WebSocket _socket;

        private RawSocket(WebSocket socket) => _socket = socket;

        public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

        public static async Task<RawSocket> ConnectAsync(MalformedApi api)
        {
            var server = api.Server;
            var socket = await server.CreateWebSocketClient().ConnectAsync(new Uri(server.BaseAddress, "ws"), CancellationToken.None);
            return new RawSocket(socket);
        }

        public Task SendAsync(byte[] frame, WebSocketMessageType type) =>
            _socket.SendAsync(frame, type, endOfMessage: true, CancellationToken.None);

        public async Task<JsonElement?> ReceiveAsync()
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using var message = new MemoryStream();
            var buffer = new byte[8192];
            while (true)
            {
                var received = await _socket.ReceiveAsync(buffer, deadline.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                    return null;
                message.Write(buffer, 0, received.Count);
                if (received.EndOfMessage)
                    return JsonDocument.Parse(message.ToArray()).RootElement.Clone();
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                try
                {
                    await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
                }
                catch (Exception exception) when (exception is WebSocketException or IOException)
                {
                    // The server closed first (the 1009 case): nothing left to close.
                }
            }

            _socket.Dispose();
        }
    }
}
