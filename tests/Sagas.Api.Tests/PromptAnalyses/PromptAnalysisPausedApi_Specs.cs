using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Sagas.Api.Tests.Races;

namespace Sagas.Api.Tests.PromptAnalyses;

/// <summary>
/// <see cref="PromptAnalysisCancelApi"/> (one analysis slot, answers that take ten minutes) with the simulated platforms
/// priced so that every ask reserves exactly $1 (1,000 output tokens at $1,000 per million): an admitted ask stays
/// reserved while the specs look at what the budget refused.
/// </summary>
public sealed class PricedPromptAnalysisApi : PromptAnalysisCancelApi
{
    protected override void ConfigureMore(IWebHostBuilder builder)
    {
        builder.UseSetting("Prices:0:Provider", "simulated");
        builder.UseSetting("Prices:0:Model", "*");
        builder.UseSetting("Prices:0:InputPerMillion", "0");
        builder.UseSetting("Prices:0:OutputPerMillion", "1000");
        builder.UseSetting("Prices:0:EffectiveFrom", "2026-11-23");
        builder.UseSetting("Budgets:DefaultOutputTokens", "1000");
    }
}

public sealed class When_a_prompt_analysis_run_is_started_with_a_budget(PricedPromptAnalysisApi api) : IClassFixture<PricedPromptAnalysisApi>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_hold_the_first_analysis_paused_by_it_and_say_so_until_the_budget_is_raised()
    {
        var projectId = await When_projects_and_prompts_are_managed_through_the_api.CreateProjectAsync(_client);
        foreach (var text in new[] { "best anvil", "best rocket skates" })
            (await _client.PostAsJsonAsync("/api/prompts", new { projectId, text })).EnsureSuccessStatusCode();

        // Room for one $1 ask of four: the budget must be there before the first ask reserves, or all four would go out.
        using var started = await _client.PostAsJsonAsync("/api/prompt-analyses/runs", new { scope = "project", projectId, force = true, budgetUsd = 1.5m });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var runId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();

        var detail = await RunAsync(runId, d => d.GetProperty("run").GetProperty("paused").GetInt32() == 1);
        var analyses = detail.GetProperty("analyses").GetProperty("items").EnumerateArray().ToList();
        var paused = analyses.Single(a => a.GetProperty("paused").GetBoolean());
        Assert.Equal("running", paused.GetProperty("status").GetString());
        Assert.StartsWith("run budget of $1.50 reached:", paused.GetProperty("pausedReason").GetString(), StringComparison.Ordinal);
        var waiting = analyses.Single(a => !a.GetProperty("paused").GetBoolean());
        Assert.Equal(("pending", JsonValueKind.Null), (waiting.GetProperty("status").GetString(), waiting.GetProperty("pausedReason").ValueKind));
        var budget = detail.GetProperty("budget");
        Assert.Equal((1.5m, 1m, true), (budget.GetProperty("limitUsd").GetDecimal(), budget.GetProperty("reservedUsd").GetDecimal(), budget.GetProperty("paused").GetBoolean()));
        var listed = (await _client.GetFromJsonAsync<JsonElement>("/api/prompt-analyses/runs?pageSize=100")).GetProperty("items").EnumerateArray()
            .Single(r => r.GetProperty("id").GetGuid() == runId);
        Assert.Equal(1, listed.GetProperty("paused").GetInt32());

        using (var raise = await _client.PutAsync(new Uri($"/api/prompt-analyses/runs/{runId}/budget", UriKind.Relative), new StringContent("{\"limitUsd\":10}", Encoding.UTF8, "application/json")))
            raise.EnsureSuccessStatusCode();

        var resumed = await RunAsync(runId, d => d.GetProperty("run").GetProperty("paused").GetInt32() == 0);
        Assert.All(resumed.GetProperty("analyses").GetProperty("items").EnumerateArray(),
            a => Assert.Equal((false, JsonValueKind.Null), (a.GetProperty("paused").GetBoolean(), a.GetProperty("pausedReason").ValueKind)));
    }

    [Theory]
    [InlineData("0", "a budget must be above zero")]
    [InlineData("-2.5", "a budget must be above zero")]
    [InlineData("\"lots\"", "must be a number of USD above zero")]
    [InlineData("true", "must be a number of USD above zero")]
    [InlineData("2000000", "at most 1,000,000 USD")]
    public async Task Should_refuse_a_bad_budget_and_start_nothing(string budgetUsd, string message)
    {
        var projectId = await When_projects_and_prompts_are_managed_through_the_api.CreateProjectAsync(_client);
        (await _client.PostAsJsonAsync("/api/prompts", new { projectId, text = "best anvil" })).EnsureSuccessStatusCode();

        using var refused = await _client.PostAsync(new Uri("/api/prompt-analyses/runs", UriKind.Relative),
            new StringContent($"{{\"scope\":\"project\",\"projectId\":\"{projectId}\",\"budgetUsd\":{budgetUsd}}}", Encoding.UTF8, "application/json"));

        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, problem.ToString());
        Assert.Contains(message, problem.GetProperty("errors").GetProperty("budgetUsd")[0].GetString(), StringComparison.Ordinal);
        var runs = (await _client.GetFromJsonAsync<JsonElement>("/api/prompt-analyses/runs?pageSize=500")).GetProperty("items").EnumerateArray();
        Assert.DoesNotContain(runs, r => r.GetProperty("projectId").ValueKind == JsonValueKind.String && r.GetProperty("projectId").GetGuid() == projectId);
    }

    private Task<JsonElement> RunAsync(Guid runId, Func<JsonElement, bool> done) =>
        Eventually.MatchAsync(() => _client.GetFromJsonAsync<JsonElement>($"/api/prompt-analyses/runs/{runId}"), done, Patience, d => d.ToString());
}
