using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.Providers;
using Sagas.LlmJobs.StateMachines;
using Xunit.Abstractions;

namespace Sagas.Api.Tests.Races;

/// <summary>
/// A cancel racing the result that finishes a job, over and over with random timing, on RabbitMQ and PostgreSQL. The
/// simulated provider never finishes on its own (ten minutes a task); the spec applies the results through the ledger
/// as the poller would, the last one a few milliseconds before or after the cancel reaches the API.
/// </summary>
public sealed class When_an_llm_job_is_cancelled_while_its_last_item_finishes : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqVirtualHost>
{
    private const int Items = 3;
    private const int Rounds = 20;
    private static readonly TimeSpan Budget = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    private readonly PostgresDatabase _database;
    private readonly RabbitMqVirtualHost _broker;
    private readonly ITestOutputHelper _output;

    public When_an_llm_job_is_cancelled_while_its_last_item_finishes(PostgresDatabase database, RabbitMqVirtualHost broker, ITestOutputHelper output)
    {
        _database = database;
        _broker = broker;
        _output = output;
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_end_in_one_state_that_the_row_the_saga_the_api_the_socket_and_the_webhook_agree_on()
    {
        await using var api = await RaceApi.StartAsync(_database, _broker, "llm-jobs,notifications,scheduler", new Dictionary<string, string?>
        {
            ["LlmJobs:Providers:Simulated:MinLatency"] = "00:10:00",
            ["LlmJobs:Providers:Simulated:MaxLatency"] = "00:10:00",
            ["LlmJobs:Providers:Simulated:FailureRate"] = "0",
            ["LlmJobs:Polling:Interval"] = "00:00:01",
            ["LlmJobs:Polling:MinInterval"] = "00:00:01",
            ["LlmJobs:Polling:MaxInterval"] = "00:00:02",
            ["Scheduling:Schedules:llm-job-poll:Cron"] = "0/1 * * * * ?",
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
            var jobId = await StartRunningJobAsync(api, client, socket);
            await FinishAsync(api, jobId, [.. Enumerable.Range(1, Items - 1).Select(i => $"i{i}")]);

            var cancelAnswer = HttpStatusCode.OK;
            await RaceTiming.RunAsync(
                offset,
                finish: () => FinishAsync(api, jobId, [$"i{Items}"]),
                cancel: async () =>
                {
                    using var response = await client.PostAsJsonAsync($"/api/llm-jobs/{jobId}/cancel", new { reason = "race" });
                    cancelAnswer = response.StatusCode;
                });

            var context = $"round {round} (seed {seed}, offset {offset} ms, cancel answered {(int)cancelAnswer})";
            var (row, saga) = await Eventually.MatchAsync(
                async () => (
                    await api.QueryAsync(db => db.Set<LlmJob>().AsNoTracking().Where(j => j.Id == jobId).Select(j => j.Status).SingleAsync()),
                    await api.QueryAsync(db => db.Set<LlmJobState>().AsNoTracking().Where(s => s.CorrelationId == jobId).Select(s => s.CurrentState).SingleAsync())),
                state => state.Item1 is LlmJobStatus.Completed or LlmJobStatus.Failed or LlmJobStatus.Cancelled && state.Item2 is "Completed" or "Failed" or "Cancelled",
                Settle,
                state => $"{context}: row {state.Item1}, saga {state.Item2}");
            Assert.True(string.Equals(row, saga, StringComparison.OrdinalIgnoreCase), $"{context}: row {row}, saga {saga}");
            Assert.True(row is LlmJobStatus.Completed or LlmJobStatus.Cancelled, $"{context}: row {row}");

            var view = await client.GetFromJsonAsync<JsonElement>($"/api/llm-jobs/{jobId}");
            Assert.Equal(row, view.GetProperty("job").GetProperty("status").GetString());

            var socketEnd = await Eventually.MatchAsync(
                () => socket.Of("job_id", jobId, "LLM_JOB_COMPLETE"),
                ends => ends.Count > 0,
                Settle,
                _ => $"{context}: no LLM_JOB_COMPLETE on the socket for a {row} job");
            Assert.True(socketEnd[0].GetProperty("status").GetString() == row, $"{context}: row {row}, socket {socketEnd[0]}");

            var webhook = await Eventually.MatchAsync(
                () => api.Webhooks("jobId", jobId, "llm-job.finished"),
                hooks => hooks.Count > 0,
                Settle,
                _ => $"{context}: no llm-job.finished webhook for a {row} job");
            Assert.True(webhook[0].GetProperty("data").GetProperty("status").GetString() == row, $"{context}: row {row}, webhook {webhook[0]}");

            outcomes.Add(row);
            _output.WriteLine($"{context}: {row}");
        }

        // Whatever arrived late for an earlier round is here by now: still one ending per job, everywhere.
        var jobs = await api.QueryAsync(db => db.Set<LlmJob>().AsNoTracking().Select(j => new { j.Id, j.Status }).ToListAsync());
        foreach (var job in jobs)
        {
            Assert.All(socket.Of("job_id", job.Id, "LLM_JOB_COMPLETE"), end => Assert.Equal(job.Status, end.GetProperty("status").GetString()));
            Assert.Single(api.Webhooks("jobId", job.Id, "llm-job.finished"));
        }

        Assert.True(outcomes.Count >= 10, $"only {outcomes.Count} rounds within {Budget}");
        _output.WriteLine($"{outcomes.Count(o => o == LlmJobStatus.Completed)} completed, {outcomes.Count(o => o == LlmJobStatus.Cancelled)} cancelled");
    }

    private static async Task<Guid> StartRunningJobAsync(RaceApi api, HttpClient client, SocketRecorder socket)
    {
        using var response = await client.PostAsJsonAsync("/api/llm-jobs", new
        {
            kind = "flagging",
            mode = "background",
            items = Enumerable.Range(1, Items).Select(i => new { id = $"i{i}", entityType = "post", entityId = Guid.NewGuid().ToString("N"), input = $"input {i}" }),
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var jobId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await socket.SendAsync(new { action = "subscribe", llm_job_id = jobId });

        await Eventually.MatchAsync(
            async () => (
                await api.QueryAsync(db => db.Set<LlmJob>().AsNoTracking().Where(j => j.Id == jobId).Select(j => j.Status).SingleOrDefaultAsync()),
                await api.QueryAsync(db => db.Set<LlmJobItem>().CountAsync(i => i.JobId == jobId && i.Status == LlmJobItemStatus.Processing && i.ProviderTaskId != null)),
                await api.QueryAsync(db => db.Set<LlmJobState>().AsNoTracking().Where(s => s.CorrelationId == jobId).Select(s => s.CurrentState).SingleOrDefaultAsync())),
            state => state.Item1 == LlmJobStatus.Running && state.Item2 == Items && state.Item3 == "Running",
            Settle,
            state => $"job {jobId} not running: row {state.Item1}, {state.Item2} item(s) at the provider, saga {state.Item3}");
        return jobId;
    }

    /// <summary>What the poller applies when the provider reports these items decided.</summary>
    private static async Task FinishAsync(RaceApi api, Guid jobId, IReadOnlyList<string> itemIds)
    {
        await using var scope = api.Services.CreateAsyncScope();
        var ledger = scope.ServiceProvider.GetRequiredService<LlmJobLedger>();
        await ledger.ApplyAsync(
            jobId,
            [.. itemIds.Select(id => new ItemChange(id, LlmJobItemStatus.Succeeded, new FlagDecision(false, "none", 0.9, "race spec")))],
            leaseId: null,
            adjustJob: null,
            stopReason: null,
            CancellationToken.None);
    }
}
