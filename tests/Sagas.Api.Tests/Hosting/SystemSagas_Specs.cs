using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Api.Tests.LlmJobs;
using Sagas.Persistence;
using Sagas.PromptAnalyses.StateMachines;
using Sagas.ScanSessions.StateMachines;

namespace Sagas.Api.Tests.Hosting;

public sealed class When_sagas_are_counted_by_state(FastLlmJobsApi api) : IClassFixture<FastLlmJobsApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_count_the_instances_of_each_saga_in_each_state()
    {
        await SeedAsync(
            ScanSession("Completed"), ScanSession("Completed"), ScanSession("Failed"),
            Analysis("Asking"), Analysis("Asking"), Analysis("Asking"), Analysis("Completed"));
        using var submitted = await _client.PostAsJsonAsync("/api/llm-jobs", new
        {
            kind = "flagging",
            items = new[] { new { entityType = "post", entityId = "1", input = "x" }, new { entityType = "post", entityId = "2", input = "y" } },
        });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);

        // The job's saga moves on its own: wait for its terminal state rather than for a moment in between.
        var report = await WaitForAsync(r => States(r, "llm-job").GetValueOrDefault("Completed") == 1, TimeSpan.FromSeconds(60));

        var sagas = report.GetProperty("sagas").EnumerateArray().ToList();
        Assert.Equal(new[] { "llm-job", "scan-session", "prompt-analysis" }, sagas.Select(s => s.GetProperty("name").GetString()).ToArray());
        Assert.Equal(new Dictionary<string, int> { ["Completed"] = 1 }, States(report, "llm-job"));
        Assert.Equal(new Dictionary<string, int> { ["Completed"] = 2, ["Failed"] = 1 }, States(report, "scan-session"));
        Assert.Equal(new Dictionary<string, int> { ["Asking"] = 3, ["Completed"] = 1 }, States(report, "prompt-analysis"));
        Assert.Equal(new[] { 1, 3, 4 }, sagas.Select(s => s.GetProperty("total").GetInt32()).ToArray());
        Assert.Equal(new[] { "Completed", "Failed" }, Saga(report, "scan-session").GetProperty("states").EnumerateArray().Select(s => s.GetProperty("state").GetString()).ToArray());
    }

    private static JsonElement Saga(JsonElement report, string name) =>
        report.GetProperty("sagas").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);

    private static Dictionary<string, int> States(JsonElement report, string name) =>
        Saga(report, name).GetProperty("states").EnumerateArray().ToDictionary(s => s.GetProperty("state").GetString()!, s => s.GetProperty("count").GetInt32());

    private async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> condition, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            using var response = await _client.GetAsync(new Uri("/api/system/sagas", UriKind.Relative), deadline.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var report = await response.Content.ReadFromJsonAsync<JsonElement>(deadline.Token);
            if (condition(report))
                return report;
            await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
        }
    }

    private async Task SeedAsync(params object[] sagas)
    {
        await using var scope = api.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        db.AddRange(sagas);
        await db.SaveChangesAsync();
    }

    private static ScanSessionState ScanSession(string state) =>
        new() { CorrelationId = Guid.NewGuid(), CurrentState = state, StartedAt = DateTimeOffset.UtcNow, FinishedAt = DateTimeOffset.UtcNow };

    private static PromptAnalysisState Analysis(string state) =>
        new() { CorrelationId = Guid.NewGuid(), CurrentState = state, RunId = Guid.NewGuid(), PromptId = Guid.NewGuid(), Platforms = ["simulated"], TotalPlatforms = 1 };
}
