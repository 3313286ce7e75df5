using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Core.Webhooks;
using Sagas.Integration.Tests.Transports;
using Sagas.Integration.Tests.Transports.AmazonSqs;
using Xunit.Abstractions;

namespace Sagas.Integration.Tests.Faults;

[Collection(FaultCollection.Name)]
public sealed class When_the_api_and_the_workers_run_as_processes_and_a_file_worker_is_killed(FaultServers servers, ITestOutputHelper output)
    : DeployedProcessesSpecs<RabbitMqTestTransport>(servers, output);

[Collection(FaultCollection.Name)]
public sealed class When_the_api_and_the_workers_run_as_processes_and_a_file_worker_is_killed_on_amazon_sqs(FaultServers servers, ITestOutputHelper output)
    : DeployedProcessesSpecs<AmazonSqsTestTransport>(servers, output);

/// <summary>
/// The deployed shape end to end: the built Sagas.Api (no worker role, API keys, Production) and Sagas.Worker processes
/// on one broker and PostgreSQL, every command through the API: the job and the run over HTTP, the scan session over
/// the WebSocket <c>/ws</c> as the seed's client starts it (<c>start_scan</c>). An LLM job, a prompt-analysis run and a
/// 2,000-file scan session run together; one of the two file workers is killed with <c>kill -9</c> once 30 % of the
/// files are counted, and a replacement joins. All three finish with exact counts, read both from the tables and
/// through the API; the socket received every <c>MATCH_FOUND</c> exactly once (a killed worker's outbox rows are
/// published again with the same message ids), and the webhook receiver every event once.
/// One body for every transport (a class per transport above).
/// </summary>
public abstract class DeployedProcessesSpecs<TTransport>(FaultServers servers, ITestOutputHelper output)
    where TTransport : class, ITestTransport, new()
{
    private const int Files = 2000;
    private const int Items = 40;
    private const int Prompts = 8;
    private const string ApiKey = "fault-specs-api-key-0123456789";

    // Batches of 5, one at a time per worker: as in the worker-kill spec, so the kill lands in the middle of the session.
    private static readonly Dictionary<string, string> PacedBatches = new()
    {
        ["ScanSessions:FileBatchSize"] = "5",
        ["ScanSessions:FilesPerMessage"] = "5",
        ["ScanSessions:FileBatchConcurrency"] = "1",
    };

    [TransportFact]
    public async Task Should_finish_an_llm_job_a_scan_session_and_an_analysis_run_with_exact_counts()
    {
        await using var scenario = await FaultScenario.StartAsync<TTransport>(servers);
        await using var receiver = await HttpStub.StartAsync(app => app.MapPost("/hooks", () => Microsoft.AspNetCore.Http.Results.NoContent()));
        await scenario.StartWorkerAsync("worker-main", "all", new Dictionary<string, string>(PacedBatches)
        {
            ["Notifications:Webhooks:0:Name"] = "receiver",
            ["Notifications:Webhooks:0:Url"] = new Uri(receiver.BaseAddress, "hooks").ToString(),
            ["Notifications:Webhooks:0:Secret"] = StandardWebhooks.SecretPrefix + Convert.ToBase64String(new byte[32]),
        });
        var victim = await scenario.StartWorkerAsync("files-b", "scan-files", PacedBatches);
        var api = await scenario.StartApiAsync(ApiKey);
        using var http = new HttpClient { BaseAddress = api.Address, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);

        var clock = Stopwatch.StartNew();
        var jobId = await SubmitJobAsync(http);
        var runId = await StartAnalysisRunAsync(http);
        var (zip, matches, matchedFiles) = FaultScenario.Archive(Files);
        await using var client = await RealtimeProbe.ConnectAsync(api.Address, ApiKey);
        var sessionId = await StartSessionAsync(scenario, client, zip);

        await scenario.WaitUntilAsync("30 % of the files processed", async () => (await scenario.SessionAsync(sessionId))?.ProcessedFiles >= Files * 3 / 10, TimeSpan.FromMinutes(2));
        victim.Kill();
        var atKill = await scenario.SessionAsync(sessionId);
        var killedAt = clock.Elapsed;
        Assert.True(atKill!.ProcessedFiles < Files, $"the session had already processed {atKill.ProcessedFiles} of {Files} files when the worker was killed");
        await scenario.StartWorkerAsync("files-b-replacement", "scan-files", PacedBatches);

        await scenario.WaitUntilAsync("the session completed", async () => await scenario.ScanSagaStateAsync(sessionId) == "Completed", TimeSpan.FromMinutes(3));
        var sessionDone = clock.Elapsed;
        await scenario.WaitUntilAsync("the job completed", async () => await scenario.LlmSagaStateAsync(jobId) == "Completed", TimeSpan.FromMinutes(2));
        await scenario.WaitUntilAsync("the run finished", async () => (await GetAsync(http, $"api/prompt-analyses/runs/{runId}")).GetProperty("run").GetProperty("finishedAt").ValueKind == JsonValueKind.String, TimeSpan.FromMinutes(2));
        await scenario.WaitForQuietBrokerAsync(TimeSpan.FromMinutes(1));
        output.WriteLine($"{scenario.Broker.Name}: file worker killed at {killedAt.TotalSeconds:0.0} s with {atKill.ProcessedFiles} of {Files} files counted; " +
            $"session completed at {sessionDone.TotalSeconds:0.0} s, everything drained at {clock.Elapsed.TotalSeconds:0.0} s; load average {File.ReadAllText("/proc/loadavg").Trim()}");

        // What the WebSocket client saw: every match once, however many outbox rows the killed worker left published
        // but not deleted, and the final COMPLETE.
        await scenario.WaitUntilAsync("COMPLETE on the socket", () => Task.FromResult(client.OfType("COMPLETE").Any() || client.Problem is not null), TimeSpan.FromMinutes(1));
        Assert.Null(client.Problem);
        var found = client.OfType("MATCH_FOUND").Select(m => m.GetProperty("data")).Select(d => (File: d.GetProperty("file_name").GetString(), Code: d.GetProperty("hole_code").GetString())).ToList();
        var twice = found.GroupBy(match => match).Where(g => g.Count() > 1).Select(g => $"{g.Key.File} {g.Key.Code} ×{g.Count()}").ToList();
        Assert.True(twice.Count == 0, $"the socket received {twice.Count} MATCH_FOUND more than once: {string.Join(", ", twice.Take(10))}");
        Assert.Equal(matches, found.Count);
        Assert.Single(client.OfType("COMPLETE"));

        // What the webhook receiver saw: each event once (one webhook id per event and endpoint).
        var hooks = receiver.Requests.Select(r => (Id: r.Headers["webhook-id"], Type: JsonDocument.Parse(r.Body).RootElement.GetProperty("type").GetString())).ToList();
        Assert.Equal(hooks.Count, hooks.Select(h => h.Id).Distinct().Count());
        Assert.Single(hooks, h => h.Type == "scan-session.completed");
        Assert.Single(hooks, h => h.Type == "llm-job.finished");
        output.WriteLine($"socket: {found.Count} MATCH_FOUND, none twice; webhooks: {hooks.Count}, none twice");

        await scenario.AssertSessionExactAsync(sessionId, Files, matches, matchedFiles);
        await scenario.AssertJobExactAsync(jobId, Items);
        await scenario.AssertAnalysisRunExactAsync(runId, Prompts);
        Assert.Empty(await scenario.ErrorQueuesAsync());

        // What a client of the API sees.
        var session = await GetAsync(http, $"api/scan-sessions/{sessionId}");
        Assert.Equal(("completed", Files, Files, matchedFiles, matches, 0),
            (session.GetProperty("status").GetString(), session.GetProperty("totalFiles").GetInt32(), session.GetProperty("processedFiles").GetInt32(),
             session.GetProperty("matchedFiles").GetInt32(), session.GetProperty("totalMatches").GetInt32(), session.GetProperty("errorFiles").GetInt32()));
        var job = (await GetAsync(http, $"api/llm-jobs/{jobId}")).GetProperty("job");
        Assert.Equal(("completed", Items, Items, Items, 0), (job.GetProperty("status").GetString()?.ToLowerInvariant(), job.GetProperty("totalItems").GetInt32(),
            job.GetProperty("processedItems").GetInt32(), job.GetProperty("succeededItems").GetInt32(), job.GetProperty("failedItems").GetInt32()));
        var run = (await GetAsync(http, $"api/prompt-analyses/runs/{runId}")).GetProperty("run");
        Assert.Equal(("finished", Prompts, Prompts, 0, 0, 0), (run.GetProperty("status").GetString(), run.GetProperty("totalAnalyses").GetInt32(),
            run.GetProperty("completed").GetInt32(), run.GetProperty("failed").GetInt32(), run.GetProperty("running").GetInt32(), run.GetProperty("pending").GetInt32()));
        output.WriteLine($"exact: session {Files}/{Files} files, {matches} matches in {matchedFiles} files, 0 errors; job {Items}/{Items} items succeeded, {Items} flags; " +
            $"run {Prompts}/{Prompts} analyses completed, {Prompts * FaultScenario.AnalysisPlatforms.Length} platform answers; no message in an error queue");
    }

    private static async Task<Guid> SubmitJobAsync(HttpClient http)
    {
        using var response = await http.PostAsJsonAsync("api/llm-jobs", new
        {
            kind = "flagging",
            priority = "normal",
            mode = "background",
            items = Enumerable.Range(1, Items).Select(i => new { id = $"i{i}", entityType = "post", entityId = $"deployed-{i}", input = $"input {i}" }),
        });
        return (await AcceptedAsync(response, HttpStatusCode.Accepted)).GetProperty("id").GetGuid();
    }

    /// <summary>A project with the prompts (each asks the four platforms by default) and an on-demand run over it.</summary>
    private static async Task<Guid> StartAnalysisRunAsync(HttpClient http)
    {
        using var project = await http.PostAsJsonAsync("api/projects", new { name = "Acme", brands = new[] { "Acme" }, domains = new[] { "acme.com" } });
        var projectId = (await AcceptedAsync(project, HttpStatusCode.Created)).GetProperty("id").GetGuid();
        for (var i = 0; i < Prompts; i++)
        {
            using var prompt = await http.PostAsJsonAsync("api/prompts", new { projectId, text = $"Which anvil brand is best, Acme or Forge? #{i}" });
            await AcceptedAsync(prompt, HttpStatusCode.Created);
        }

        using var run = await http.PostAsJsonAsync("api/prompt-analyses/runs", new { scope = "project", projectId, force = true });
        return (await AcceptedAsync(run, HttpStatusCode.Accepted)).GetProperty("runId").GetGuid();
    }

    /// <summary><c>start_scan</c> on the socket: the session's events follow on it from STARTED on, none missed.</summary>
    private static async Task<Guid> StartSessionAsync(FaultScenario scenario, RealtimeProbe client, byte[] zip)
    {
        await client.SendAsync(new { action = "start_scan", file_name = "sheets.zip", file_content = Convert.ToBase64String(zip), target_hole_codes = FaultScenario.ArchiveCodes });
        await scenario.WaitUntilAsync("STARTED on the socket", () => Task.FromResult(client.OfType("STARTED").Any() || client.OfType("ERROR").Any() || client.Problem is not null), TimeSpan.FromMinutes(1));
        Assert.True(client.OfType("STARTED").Any(), $"start_scan was answered {string.Join(", ", client.Received)} {client.Problem}");
        return client.OfType("STARTED").Single().GetProperty("session_id").GetGuid();
    }

    private static async Task<JsonElement> AcceptedAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<JsonElement> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return await AcceptedAsync(response, HttpStatusCode.OK);
    }
}
