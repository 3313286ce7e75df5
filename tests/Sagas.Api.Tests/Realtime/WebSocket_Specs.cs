using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Sagas.Api.Tests.Hosting;
using Sagas.Api.Tests.ScanSessions;

namespace Sagas.Api.Tests.Realtime;

/// <summary>A WebSocket client speaking the <c>/ws</c> protocol to the test server.</summary>
public sealed class ProtocolClient : IAsyncDisposable
{
    private readonly WebSocket _socket;

    private ProtocolClient(WebSocket socket) => _socket = socket;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public WebSocketState State => _socket.State;

    public static async Task<ProtocolClient> ConnectAsync(TestServer server, string query = "")
    {
        var client = server.CreateWebSocketClient();
        var socket = await client.ConnectAsync(new Uri(server.BaseAddress, "ws" + query), CancellationToken.None);
        return new ProtocolClient(socket);
    }

    public Task SendAsync(object message) => SendTextAsync(JsonSerializer.Serialize(message));

    public Task SendTextAsync(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    /// <summary>The next message, or null when the server closed the socket.</summary>
    public async Task<JsonElement?> ReceiveAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
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

    /// <summary>Messages until one of <paramref name="type"/> (included) arrives.</summary>
    public async Task<List<JsonElement>> ReceiveUntilAsync(string type)
    {
        var messages = new List<JsonElement>();
        while (true)
        {
            var message = await ReceiveAsync() ?? throw new InvalidOperationException($"The socket closed before {type}; got {string.Join(", ", messages.Select(m => m.GetProperty("type").GetString()))}.");
            messages.Add(message);
            if (message.GetProperty("type").GetString() == type)
                return messages;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            }
            catch (WebSocketException)
            {
            }
        }

        _socket.Dispose();
    }
}

public sealed class When_a_scan_is_started_over_the_websocket(ScanSessionsApi api) : IClassFixture<ScanSessionsApi>
{
    [Fact]
    public async Task Should_send_started_matches_progress_and_complete_with_exact_counts()
    {
        await using var client = await ProtocolClient.ConnectAsync(api.Server);

        await client.SendAsync(new { action = "start_scan", token = "drive-token", file_content = Convert.ToBase64String(ScanFixtures.Zip(20)), target_hole_codes = ScanFixtures.Codes });
        var messages = await client.ReceiveUntilAsync("COMPLETE");

        Assert.Equal("STARTED", messages[0].GetProperty("type").GetString());
        Assert.Equal("Processing started", messages[0].GetProperty("message").GetString());
        var sessionId = messages[0].GetProperty("session_id").GetGuid();
        var matches = messages.Where(m => m.GetProperty("type").GetString() == "MATCH_FOUND").ToList();
        var complete = messages[^1];
        Assert.Equal(ScanFixtures.MatchingFiles(20), complete.GetProperty("total_matches").GetInt32());
        Assert.Equal(20, complete.GetProperty("total_processed").GetInt32());
        Assert.Equal("Processing completed successfully", complete.GetProperty("message").GetString());
        // Absolute, on the address the socket connected to: a client cannot tell what a root-relative link is relative to.
        var downloadUrl = complete.GetProperty("download_url").GetString();
        Assert.StartsWith(new Uri(api.Server.BaseAddress, "/files/").ToString(), downloadUrl, StringComparison.Ordinal);
        using (var download = await api.CreateClient().GetAsync(new Uri(downloadUrl!)))
            Assert.Equal(global::System.Net.HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(sessionId, complete.GetProperty("session_id").GetGuid());
        // Events of one session come from several producers; COMPLETE may overtake the last MATCH_FOUND, never lose it.
        while (matches.Count < ScanFixtures.MatchingFiles(20))
        {
            var late = await client.ReceiveAsync();
            if (late?.GetProperty("type").GetString() == "MATCH_FOUND")
                matches.Add(late.Value);
        }

        Assert.All(matches, m =>
        {
            var data = m.GetProperty("data");
            Assert.Contains(data.GetProperty("hole_code").GetString(), ScanFixtures.Codes);
            Assert.Equal("1 Code", data.GetProperty("status").GetString());
            Assert.EndsWith(".txt", data.GetProperty("file_name").GetString(), StringComparison.Ordinal);
        });
        Assert.Equal(ScanFixtures.MatchingFiles(20), matches.Select(m => m.GetProperty("data").GetProperty("file_name").GetString()).Distinct().Count());
        var progress = messages.Where(m => m.GetProperty("type").GetString() == "PROGRESS").ToList();
        Assert.NotEmpty(progress);
        Assert.All(progress, p => Assert.Equal(20, p.GetProperty("total").GetInt32()));
    }

    [Fact]
    public async Task Should_replay_the_state_and_complete_to_a_client_that_subscribes_after_the_end()
    {
        Guid sessionId;
        await using (var first = await ProtocolClient.ConnectAsync(api.Server))
        {
            await first.SendAsync(new { action = "start_scan", file_content = Convert.ToBase64String(ScanFixtures.Zip(6)), target_hole_codes = ScanFixtures.Codes });
            var messages = await first.ReceiveUntilAsync("COMPLETE");
            sessionId = messages[0].GetProperty("session_id").GetGuid();
        }

        await using var second = await ProtocolClient.ConnectAsync(api.Server);
        await second.SendAsync(new { action = "subscribe", session_id = sessionId });
        var replay = await second.ReceiveUntilAsync("COMPLETE");

        Assert.Equal(["STATE", "PROGRESS", "COMPLETE"], replay.Select(m => m.GetProperty("type").GetString()));
        Assert.Equal("completed", replay[0].GetProperty("status").GetString());
        Assert.Equal(100, replay[1].GetProperty("value").GetInt32());
        Assert.Equal(6, replay[1].GetProperty("processed").GetInt32());
        Assert.Equal(ScanFixtures.MatchingFiles(6), replay[2].GetProperty("total_matches").GetInt32());
    }

    [Fact]
    public async Task Should_answer_bad_messages_with_error_and_keep_the_socket_usable()
    {
        await using var client = await ProtocolClient.ConnectAsync(api.Server);
        string[] bad =
        [
            "not json",
            "[1,2]",
            """{"noaction":1}""",
            """{"action":"dance"}""",
            """{"action":"subscribe","session_id":"nope"}""",
            """{"action":"start_scan","target_hole_codes":["EB-1"]}""",
            """{"action":"start_scan","target_hole_codes":"EB-1","file_content":"RUItMQ=="}""",
            """{"action":"start_scan","target_hole_codes":[],"file_content":"RUItMQ=="}""",
            """{"action":"start_scan","target_hole_codes":["EB-1"],"file_content":"%%%"}""",
        ];

        foreach (var text in bad)
        {
            await client.SendTextAsync(text);
            var answer = await client.ReceiveAsync();
            Assert.Equal("ERROR", answer?.GetProperty("type").GetString());
            Assert.False(string.IsNullOrWhiteSpace(answer?.GetProperty("message").GetString()));
        }

        await client.SendAsync(new { action = "subscribe", session_id = Guid.NewGuid() });
        var unknown = await client.ReceiveAsync();
        Assert.Equal("ERROR", unknown?.GetProperty("type").GetString());
        Assert.Contains("no scan session", unknown?.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_close_with_1009_a_message_over_the_limit()
    {
        await using var client = await ProtocolClient.ConnectAsync(api.Server);

        await client.SendTextAsync(new string('x', 400_001));
        var answer = await client.ReceiveAsync();

        Assert.Null(answer);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, client.CloseStatus);
    }

    [Fact]
    public async Task Should_answer_400_to_a_plain_http_request()
    {
        using var http = api.CreateClient();

        using var response = await http.GetAsync(new Uri("/ws", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}

public sealed class When_an_llm_job_is_followed_over_the_websocket(ScanSessionsApi api) : IClassFixture<ScanSessionsApi>
{
    [Fact]
    public async Task Should_push_its_completion()
    {
        using var http = api.CreateClient();
        using var submitted = await http.PostAsJsonAsync("/api/llm-jobs", new { kind = "flagging", items = new[] { new { entityType = "post", entityId = "1", input = "x" } } });
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await using var client = await ProtocolClient.ConnectAsync(api.Server);

        await client.SendAsync(new { action = "subscribe", llm_job_id = jobId });
        var messages = await client.ReceiveUntilAsync("LLM_JOB_COMPLETE");

        var complete = messages[^1];
        Assert.Equal(jobId, complete.GetProperty("job_id").GetGuid());
        Assert.Equal("completed", complete.GetProperty("status").GetString());
        Assert.Equal(1, complete.GetProperty("succeeded").GetInt32());
    }
}

public sealed class When_a_websocket_connects_to_an_api_that_requires_credentials(ProductionApi api) : IClassFixture<ProductionApi>
{
    [Fact]
    public async Task Should_refuse_the_upgrade_without_a_key()
    {
        var exception = await Assert.ThrowsAnyAsync<Exception>(() => ProtocolClient.ConnectAsync(api.Server));

        Assert.Contains("401", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_accept_the_key_as_access_token()
    {
        await using var client = await ProtocolClient.ConnectAsync(api.Server, "?access_token=" + ProductionApi.Key);

        await client.SendAsync(new { action = "subscribe", session_id = Guid.NewGuid() });
        var answer = await client.ReceiveAsync();

        Assert.Equal("ERROR", answer?.GetProperty("type").GetString());
    }
}

/// <summary>The embedded API with a mutation budget of two per minute, shared by HTTP routes and the socket.</summary>
public sealed class TightlyLimitedScanSessionsApi : ScanSessionsApi
{
    public const int MutationsPerMinute = 2;

    protected override void ConfigureMore(IWebHostBuilder builder) =>
        builder.UseSetting("Api:MutationsPerMinute", MutationsPerMinute.ToString(global::System.Globalization.CultureInfo.InvariantCulture));
}

public sealed class When_start_scan_exceeds_the_callers_mutation_budget(TightlyLimitedScanSessionsApi api) : IClassFixture<TightlyLimitedScanSessionsApi>
{
    [Fact]
    public async Task Should_refuse_with_error_once_http_and_socket_starts_together_spend_the_budget()
    {
        using var http = api.CreateClient();
        await using var client = await ProtocolClient.ConnectAsync(api.Server);
        var start = new { action = "start_scan", file_content = Convert.ToBase64String(ScanFixtures.Zip(2)), target_hole_codes = ScanFixtures.Codes };

        using (var first = await http.PostAsJsonAsync("/api/scan-sessions", new { targetHoleCodes = ScanFixtures.Codes, fileContent = Convert.ToBase64String(ScanFixtures.Zip(2)), fileName = "a.zip" }))
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        await client.SendAsync(start);
        var second = await client.ReceiveAsync();
        Assert.Equal("STARTED", second?.GetProperty("type").GetString());
        await client.SendAsync(start);
        var refused = await client.ReceiveUntilAsync("ERROR");

        Assert.Contains("Too many requests", refused[^1].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(refused, m => m.GetProperty("type").GetString() == "STARTED");
        using var third = await http.PostAsJsonAsync("/api/scan-sessions", new { targetHoleCodes = ScanFixtures.Codes, fileContent = Convert.ToBase64String(ScanFixtures.Zip(2)), fileName = "b.zip" });
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal(WebSocketState.Open, client.State);
    }
}
