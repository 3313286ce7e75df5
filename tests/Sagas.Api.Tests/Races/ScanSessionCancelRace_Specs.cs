using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Contracts.ScanSessions;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.StateMachines;
using Xunit.Abstractions;

namespace Sagas.Api.Tests.Races;

/// <summary>
/// A cancel racing the last file of a session, over and over with random timing, on RabbitMQ and PostgreSQL. The API
/// runs the session roles but no file worker: the spec records the files itself, so the last one is counted exactly
/// when it chooses, a few milliseconds before or after the cancel reaches the API.
/// </summary>
public sealed class When_a_scan_session_is_cancelled_while_its_last_file_is_recorded : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqVirtualHost>
{
    private const int Files = 3;
    private const int Rounds = 20;
    private static readonly TimeSpan Budget = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    private readonly PostgresDatabase _database;
    private readonly RabbitMqVirtualHost _broker;
    private readonly ITestOutputHelper _output;

    public When_a_scan_session_is_cancelled_while_its_last_file_is_recorded(PostgresDatabase database, RabbitMqVirtualHost broker, ITestOutputHelper output)
    {
        _database = database;
        _broker = broker;
        _output = output;
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_end_in_one_state_that_the_row_the_saga_the_api_the_socket_and_the_webhook_agree_on()
    {
        await using var api = await RaceApi.StartAsync(_database, _broker, "scan-sessions,notifications", new Dictionary<string, string?>
        {
            ["ScanSessions:ProgressInterval"] = "00:00:00",
        });
        var client = api.CreateClient();
        await using var socket = await SocketRecorder.ConnectAsync(api.Server);
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var outcomes = new List<string>();
        var started = DateTime.UtcNow;

        for (var round = 0; round < Rounds && DateTime.UtcNow - started < Budget; round++)
        {
            // The cancel goes through HTTP and the bus before it reaches the row, the last write does not: the window
            // leans towards a late finish so that each side wins some rounds.
            var offset = random.Next(-20, 61);
            var sessionId = await StartScanningSessionAsync(api, client, socket);
            for (var index = 0; index < Files - 1; index++)
                Assert.True(await RecordAsync(api, sessionId, index));

            var cancelAnswer = HttpStatusCode.OK;
            await RaceTiming.RunAsync(
                offset,
                finish: () => RecordAsync(api, sessionId, Files - 1),
                cancel: async () =>
                {
                    using var response = await client.PostAsync(new Uri($"/api/scan-sessions/{sessionId}/cancel", UriKind.Relative), null);
                    cancelAnswer = response.StatusCode;
                });

            var context = $"round {round} (seed {seed}, offset {offset} ms, cancel answered {(int)cancelAnswer})";
            var (row, saga) = await Eventually.MatchAsync(
                async () => (
                    await api.QueryAsync(db => db.Set<ScanSession>().AsNoTracking().Where(s => s.Id == sessionId).Select(s => s.Status).SingleAsync()),
                    await api.QueryAsync(db => db.Set<ScanSessionState>().AsNoTracking().Where(s => s.CorrelationId == sessionId).Select(s => s.CurrentState).SingleAsync())),
                state => IsFinal(state.Item1) && state.Item2 is "Completed" or "Cancelled" or "Failed",
                Settle,
                state => $"{context}: row {state.Item1}, saga {state.Item2}");
            Assert.True(string.Equals(row, saga, StringComparison.OrdinalIgnoreCase), $"{context}: row {row}, saga {saga}");
            Assert.True(row is ScanSessionStatus.Completed or ScanSessionStatus.Cancelled, $"{context}: row {row}");

            var view = await client.GetFromJsonAsync<JsonElement>($"/api/scan-sessions/{sessionId}");
            Assert.Equal(row, view.GetProperty("status").GetString());

            var socketEnd = await Eventually.MatchAsync(
                () => socket.Of("session_id", sessionId, "COMPLETE", "ERROR"),
                ends => ends.Count > 0,
                Settle,
                _ => $"{context}: no COMPLETE or ERROR on the socket for a {row} session");
            Assert.True(socketEnd[0].GetProperty("type").GetString() == (row == ScanSessionStatus.Completed ? "COMPLETE" : "ERROR"), $"{context}: row {row}, socket {socketEnd[0]}");

            var webhook = await Eventually.MatchAsync(
                () => api.Webhooks("sessionId", sessionId, "scan-session.completed", "scan-session.cancelled", "scan-session.failed"),
                hooks => hooks.Count > 0,
                Settle,
                _ => $"{context}: no webhook for a {row} session");
            Assert.Equal("scan-session." + row, webhook[0].GetProperty("type").GetString());

            outcomes.Add(row);
            _output.WriteLine($"{context}: {row}");
        }

        // Whatever arrived late for an earlier round is here by now: still one ending per session, everywhere.
        var sessions = await api.QueryAsync(db => db.Set<ScanSession>().AsNoTracking().Select(s => new { s.Id, s.Status }).ToListAsync());
        foreach (var session in sessions)
        {
            Assert.Single(socket.Of("session_id", session.Id, "COMPLETE", "ERROR"));
            Assert.Single(api.Webhooks("sessionId", session.Id, "scan-session.completed", "scan-session.cancelled", "scan-session.failed"));
        }

        Assert.True(outcomes.Count >= 10, $"only {outcomes.Count} rounds within {Budget}");
        _output.WriteLine($"{outcomes.Count(o => o == ScanSessionStatus.Completed)} completed, {outcomes.Count(o => o == ScanSessionStatus.Cancelled)} cancelled");
    }

    private static bool IsFinal(string status) => status is ScanSessionStatus.Completed or ScanSessionStatus.Cancelled or ScanSessionStatus.Failed;

    private static async Task<Guid> StartScanningSessionAsync(RaceApi api, HttpClient client, SocketRecorder socket)
    {
        using var response = await client.PostAsJsonAsync("/api/scan-sessions", new
        {
            targetHoleCodes = new[] { "EB-1" },
            fileContent = Convert.ToBase64String(Zip()),
            fileName = "drawings.zip",
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var sessionId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await socket.SendAsync(new { action = "subscribe", session_id = sessionId });

        await Eventually.MatchAsync(
            async () => (
                await api.QueryAsync(db => db.Set<ScanSession>().AsNoTracking().Where(s => s.Id == sessionId).Select(s => new { s.Status, s.TotalFiles }).SingleOrDefaultAsync()),
                await api.QueryAsync(db => db.Set<ScanSessionState>().AsNoTracking().Where(s => s.CorrelationId == sessionId).Select(s => s.CurrentState).SingleOrDefaultAsync())),
            state => state.Item1 is { Status: ScanSessionStatus.Scanning, TotalFiles: Files } && state.Item2 == "Scanning",
            Settle,
            state => $"session {sessionId} not scanning: row {state.Item1}, saga {state.Item2}");
        return sessionId;
    }

    private static async Task<bool> RecordAsync(RaceApi api, Guid sessionId, int index)
    {
        await using var scope = api.Services.CreateAsyncScope();
        var recorder = scope.ServiceProvider.GetRequiredService<ScanFileRecorder>();
        var outcome = index == 0 ? new ScanFileOutcome("1 Code", ["EB-1"], null, null) : new ScanFileOutcome("No Code", [], null, null);
        return await recorder.RecordAsync(new ScanFile(sessionId, index, $"drawings/file-{index}.txt", "upload", $"upload:0/entry:{index}"), outcome, CancellationToken.None);
    }

    private static byte[] Zip()
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < Files; i++)
            {
                using var writer = new StreamWriter(archive.CreateEntry($"drawings/file-{i}.txt").Open(), Encoding.UTF8);
                writer.Write(i == 0 ? "Drawing references EB-1." : "Nothing here.");
            }
        }

        return buffer.ToArray();
    }
}
