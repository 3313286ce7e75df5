using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Sagas.Api.Tests.Races;

namespace Sagas.Api.Tests.PromptAnalyses;

/// <summary>
/// The embedded default with one analysis slot and simulated platforms that take ten minutes to answer: the first
/// analysis of a run stays running and the others pending until something cancels them.
/// </summary>
public class PromptAnalysisCancelApi : WebApplicationFactory<Program>
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-pa-cancel-specs-" + Guid.NewGuid().ToString("N"));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("PromptAnalyses:MaxConcurrentAnalyses", "1");
        builder.UseSetting("PromptAnalyses:Platforms:Simulated:MinLatencyMs", "600000");
        builder.UseSetting("PromptAnalyses:Platforms:Simulated:MaxLatencyMs", "600000");
        builder.UseSetting("PromptAnalyses:Platforms:Simulated:FailureRate", "0");
        builder.UseSetting("PromptAnalyses:Platforms:Simulated:RateLimitRate", "0");
        builder.UseSetting("Api:MutationsPerMinute", "10000");
        ConfigureMore(builder);
    }

    protected virtual void ConfigureMore(IWebHostBuilder builder)
    {
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

public sealed class When_prompt_analyses_are_cancelled_through_the_api(PromptAnalysisCancelApi api) : IClassFixture<PromptAnalysisCancelApi>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_cancel_a_pending_and_a_running_analysis_then_the_rest_of_the_run()
    {
        var projectId = await When_projects_and_prompts_are_managed_through_the_api.CreateProjectAsync(_client);
        foreach (var text in new[] { "best anvil", "best rocket skates", "best giant magnet" })
            (await _client.PostAsJsonAsync("/api/prompts", new { projectId, text })).EnsureSuccessStatusCode();
        using var started = await _client.PostAsJsonAsync("/api/prompt-analyses/runs", new { scope = "project", projectId, force = true });
        var runId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();
        // The run's counters and the analyses' rows are read by two queries: wait until both tell the same story.
        var detail = await Eventually.MatchAsync(
            () => _client.GetFromJsonAsync<JsonElement>($"/api/prompt-analyses/runs/{runId}"),
            d => d.GetProperty("run") is var run && run.GetProperty("status").GetString() == "running" && Count(run, "running") == 1 && Count(run, "pending") == 2
                && Statuses(d).Count(status => status == "running") == 1 && Statuses(d).Count(status => status == "pending") == 2,
            Patience,
            d => d.ToString());
        var analyses = detail.GetProperty("analyses").GetProperty("items").EnumerateArray().ToList();
        var running = Id(analyses.Single(a => a.GetProperty("status").GetString() == "running"));
        var pending = analyses.Where(a => a.GetProperty("status").GetString() == "pending").Select(Id).ToList();

        // A pending analysis: cancelled without ever starting.
        using (var accepted = await _client.PostAsJsonAsync($"/api/prompt-analyses/analyses/{pending[0]}/cancel", new { reason = "not needed" }))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            Assert.Equal($"/api/prompt-analyses/runs/{runId}", accepted.Headers.Location?.OriginalString);
            var body = await accepted.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal((pending[0], runId), (body.GetProperty("id").GetGuid(), body.GetProperty("runId").GetGuid()));
        }

        var cancelledPending = await AnalysisAsync(runId, pending[0], a => a.GetProperty("status").GetString() == "cancelled");
        Assert.Equal(JsonValueKind.Null, cancelledPending.GetProperty("startedAt").ValueKind);
        Assert.Empty(cancelledPending.GetProperty("responses").EnumerateArray());

        // The Runs page's bulk cancel counts prompt analyses now.
        using (var preview = await _client.PostAsJsonAsync("/api/runs/cancel", new { ids = new[] { pending[1], pending[0] }, dryRun = true }))
        {
            var body = await preview.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(preview.StatusCode == HttpStatusCode.OK, body.ToString());
            Assert.Equal(1, body.GetProperty("byWorkflow").GetProperty("prompt-analyses").GetInt32());
        }

        // The running analysis: cancelled, and its slot goes to the last pending one.
        using (var tooLong = await _client.PostAsJsonAsync($"/api/prompt-analyses/analyses/{running}/cancel", new { reason = new string('x', 1001) }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
            Assert.True((await tooLong.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("reason", out _));
        }

        using (var accepted = await _client.PostAsync($"/api/prompt-analyses/analyses/{running}/cancel", null))
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        await AnalysisAsync(runId, running, a => a.GetProperty("status").GetString() == "cancelled");
        await AnalysisAsync(runId, pending[1], a => a.GetProperty("status").GetString() == "running");

        // The rest of the run.
        using (var accepted = await _client.PostAsJsonAsync($"/api/prompt-analyses/runs/{runId}/cancel", new { reason = "enough" }))
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var finished = (await RunAsync(runId, run => run.GetProperty("status").GetString() == "finished")).GetProperty("run");
        Assert.Equal((3, 0, 0, 3), (finished.GetProperty("totalAnalyses").GetInt32(), Count(finished, "completed"), Count(finished, "failed"), Count(finished, "cancelled")));
        Assert.NotEqual(JsonValueKind.Null, finished.GetProperty("cancelRequestedAt").ValueKind);

        // Finished: a clear 409, nothing changed.
        using var again = await _client.PostAsync($"/api/prompt-analyses/analyses/{running}/cancel", null);
        using var runAgain = await _client.PostAsync($"/api/prompt-analyses/runs/{runId}/cancel", null);
        Assert.Equal((HttpStatusCode.Conflict, HttpStatusCode.Conflict), (again.StatusCode, runAgain.StatusCode));
        Assert.Contains("cancelled", (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/prompt-analyses/analyses/{0}/cancel", HttpStatusCode.NotFound)]
    [InlineData("/api/prompt-analyses/runs/{0}/cancel", HttpStatusCode.NotFound)]
    [InlineData("/api/prompt-analyses/analyses/not-a-guid/cancel", HttpStatusCode.NotFound)]
    [InlineData("/api/prompt-analyses/runs/not-a-guid/cancel", HttpStatusCode.NotFound)]
    public async Task Should_answer_404_for_an_unknown_analysis_or_run(string route, HttpStatusCode expected)
    {
        using var response = await _client.PostAsync(route.Replace("{0}", Guid.NewGuid().ToString(), StringComparison.Ordinal), null);

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task Should_refuse_a_body_that_is_not_json()
    {
        using var response = await _client.PostAsync($"/api/prompt-analyses/runs/{Guid.NewGuid()}/cancel", new StringContent("{reason:", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private static Guid Id(JsonElement analysis) => analysis.GetProperty("id").GetGuid();

    private static int Count(JsonElement run, string status) => run.GetProperty(status).GetInt32();

    private static IEnumerable<string?> Statuses(JsonElement detail) =>
        detail.GetProperty("analyses").GetProperty("items").EnumerateArray().Select(a => a.GetProperty("status").GetString());

    private Task<JsonElement> RunAsync(Guid runId, Func<JsonElement, bool> done) =>
        Eventually.MatchAsync(() => _client.GetFromJsonAsync<JsonElement>($"/api/prompt-analyses/runs/{runId}"), d => done(d.GetProperty("run")), Patience, d => d.ToString());

    private async Task<JsonElement> AnalysisAsync(Guid runId, Guid analysisId, Func<JsonElement, bool> done)
    {
        var detail = await Eventually.MatchAsync(
            () => _client.GetFromJsonAsync<JsonElement>($"/api/prompt-analyses/runs/{runId}"),
            d => d.GetProperty("analyses").GetProperty("items").EnumerateArray().Any(a => Id(a) == analysisId && done(a)),
            Patience, d => d.ToString());
        return detail.GetProperty("analyses").GetProperty("items").EnumerateArray().Single(a => Id(a) == analysisId);
    }
}
