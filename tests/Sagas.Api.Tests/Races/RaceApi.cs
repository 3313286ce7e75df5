using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Persistence;

namespace Sagas.Api.Tests.Races;

/// <summary>
/// The API with worker roles on RabbitMQ and PostgreSQL, a webhook endpoint on a local receiver and a socket on
/// <c>/ws</c>: every place a user learns how work ended, so the race specs can ask each of them.
/// </summary>
public sealed class RaceApi : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private readonly string _blobs = Path.Combine(Path.GetTempPath(), "sagas-race-specs-" + Guid.NewGuid().ToString("N"));

    private RaceApi(Dictionary<string, string?> settings, HttpStub receiver)
    {
        _settings = settings;
        Receiver = receiver;
    }

    /// <summary>The webhook endpoint: every delivery is recorded.</summary>
    public HttpStub Receiver { get; }

    public static async Task<RaceApi> StartAsync(PostgresDatabase database, RabbitMqVirtualHost broker, string roles, IReadOnlyDictionary<string, string?> settings)
    {
        var receiver = await HttpStub.StartAsync(app => app.MapPost("/hooks", () => Microsoft.AspNetCore.Http.Results.NoContent()));
        var all = new Dictionary<string, string?>
        {
            ["Messaging:Transport"] = "RabbitMq",
            ["Messaging:RabbitMq:Uri"] = broker.Address.ToString(),
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = database.ConnectionString,
            ["Worker:Roles"] = roles,
            ["Storage:Local:SigningKey"] = "race-specs-signing-key-0123456789abcdef",
            ["Api:Realtime:ProgressInterval"] = "00:00:00",
            ["Notifications:Webhooks:0:Name"] = "receiver",
            ["Notifications:Webhooks:0:Url"] = new Uri(receiver.BaseAddress, "hooks").ToString(),
            ["Notifications:Webhooks:0:Secret"] = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Notifications:RetryBaseDelay"] = "00:00:00.100",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings)
            all[key] = value;
        var api = new RaceApi(all, receiver);
        _ = api.Server;
        return api;
    }

    public async Task<T> QueryAsync<T>(Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }

    /// <summary>Terminal webhooks of the given types that name <paramref name="id"/> in <paramref name="idProperty"/>.</summary>
    public List<JsonElement> Webhooks(string idProperty, Guid id, params string[] types) =>
        [.. Receiver.Requests
            .Select(r => JsonDocument.Parse(r.Body).RootElement.Clone())
            .Where(body => types.Contains(body.GetProperty("type").GetString())
                && body.GetProperty("data").GetProperty(idProperty).GetGuid() == id)];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Storage:Local:Root", _blobs);
        foreach (var (key, value) in _settings)
            builder.UseSetting(key, value);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Receiver.DisposeAsync();
        if (Directory.Exists(_blobs))
            Directory.Delete(_blobs, recursive: true);
    }
}

/// <summary>A <c>/ws</c> client that keeps every message it receives, read by a loop of its own.</summary>
public sealed class SocketRecorder : IAsyncDisposable
{
    private readonly WebSocket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;

    private SocketRecorder(WebSocket socket)
    {
        _socket = socket;
        _reading = Task.Run(ReadAsync);
    }

    public ConcurrentQueue<JsonElement> Messages { get; } = new();

    public static async Task<SocketRecorder> ConnectAsync(TestServer server)
    {
        var client = server.CreateWebSocketClient();
        var socket = await client.ConnectAsync(new Uri(server.BaseAddress, "ws"), CancellationToken.None);
        return new SocketRecorder(socket);
    }

    public Task SendAsync(object message) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(message)), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    /// <summary>Messages whose <paramref name="idProperty"/> is <paramref name="id"/> and whose type is one of <paramref name="types"/>.</summary>
    public List<JsonElement> Of(string idProperty, Guid id, params string[] types) =>
        [.. Messages.Where(m => types.Contains(m.GetProperty("type").GetString())
            && m.TryGetProperty(idProperty, out var value) && value.ValueKind == JsonValueKind.String && value.GetGuid() == id)];

    private async Task ReadAsync()
    {
        var buffer = new byte[8192];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var received = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                    return;
                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                    continue;
                Messages.Enqueue(JsonDocument.Parse(message.ToArray()).RootElement.Clone());
                message.SetLength(0);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (WebSocketException) when (_stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        // A close handshake, so the server ends the connection as a client would; the reading loop sees its answer.
        if (_socket.State == WebSocketState.Open)
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        if (await Task.WhenAny(_reading, Task.Delay(TimeSpan.FromSeconds(10))) != _reading)
            await _stop.CancelAsync();
        try
        {
            await _reading;
        }
        finally
        {
            _socket.Dispose();
            _stop.Dispose();
        }
    }
}

/// <summary>Waiting on conditions with a deadline; the message says what was still not true.</summary>
public static class Eventually
{
    public static async Task<T> MatchAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, Func<T, string> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (done(value))
                return value;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Not reached within {timeout.TotalSeconds:0} s: {describe(value)}");
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }

    public static Task<T> MatchAsync<T>(Func<T> read, Func<T, bool> done, TimeSpan timeout, Func<T, string> describe) =>
        MatchAsync(() => Task.FromResult(read()), done, timeout, describe);
}

/// <summary>How far apart, and in which order, the two sides of a race start: a seeded random offset, logged on failure.</summary>
public static class RaceTiming
{
    /// <summary>Runs <paramref name="finish"/> and <paramref name="cancel"/> with <paramref name="offsetMs"/> between them (negative: the cancel first).</summary>
    public static async Task RunAsync(int offsetMs, Func<Task> finish, Func<Task> cancel)
    {
        using var go = new ManualResetEventSlim();
        var first = Task.Run(async () =>
        {
            go.Wait();
            if (offsetMs > 0)
                await Task.Delay(offsetMs);
            await finish();
        });
        var second = Task.Run(async () =>
        {
            go.Wait();
            if (offsetMs < 0)
                await Task.Delay(-offsetMs);
            await cancel();
        });
        go.Set();
        await Task.WhenAll(first, second);
    }
}
