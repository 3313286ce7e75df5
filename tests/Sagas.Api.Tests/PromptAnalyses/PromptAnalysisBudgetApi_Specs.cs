using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Sagas.Api.Tests.Races;

namespace Sagas.Api.Tests.PromptAnalyses;

/// <summary>
/// The budget routes of prompt analyses, a run's and a project's per day, on the embedded default whose simulated
/// platforms take ten minutes: the runs stay unfinished while the specs set, raise and refuse budgets.
/// </summary>
public sealed class When_prompt_analysis_budgets_are_set_through_the_api(PromptAnalysisCancelApi api) : IClassFixture<PromptAnalysisCancelApi>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_set_and_raise_a_run_budget_and_show_it_on_the_run()
    {
        var runId = await StartRunAsync();

        var set = await PutAsync($"/api/prompt-analyses/runs/{runId}/budget", "{\"limitUsd\":0.5}", HttpStatusCode.OK);
        Assert.Equal((0.5m, 0m, false), (set.GetProperty("limitUsd").GetDecimal(), set.GetProperty("reservedUsd").GetDecimal(), set.GetProperty("paused").GetBoolean()));
        var raised = await PutAsync($"/api/prompt-analyses/runs/{runId}/budget", "{\"limitUsd\":1.25}", HttpStatusCode.OK);
        Assert.Equal(set.GetProperty("id").GetString(), raised.GetProperty("id").GetString());

        var detail = await _client.GetFromJsonAsync<JsonElement>($"/api/prompt-analyses/runs/{runId}");
        Assert.Equal(1.25m, detail.GetProperty("budget").GetProperty("limitUsd").GetDecimal());
    }

    [Theory]
    [InlineData("{\"limitUsd\":0}", "a budget must be above zero")]
    [InlineData("{\"limitUsd\":-2.5}", "a budget must be above zero")]
    [InlineData("{\"limitUsd\":\"lots\"}", "must be a number of USD above zero")]
    [InlineData("{\"limitUsd\":null}", "limitUsd is required")]
    [InlineData("{}", "limitUsd is required")]
    [InlineData("{\"limitUsd\":2000000}", "at most")]
    public async Task Should_refuse_a_bad_run_budget_and_change_nothing(string body, string message)
    {
        var runId = await StartRunAsync();
        await PutAsync($"/api/prompt-analyses/runs/{runId}/budget", "{\"limitUsd\":0.75}", HttpStatusCode.OK);

        var problem = await PutAsync($"/api/prompt-analyses/runs/{runId}/budget", body, HttpStatusCode.BadRequest);

        Assert.Contains(message, problem.GetProperty("errors").GetProperty("limitUsd")[0].GetString(), StringComparison.Ordinal);
        var detail = await _client.GetFromJsonAsync<JsonElement>($"/api/prompt-analyses/runs/{runId}");
        Assert.True(detail.GetProperty("budget") is { ValueKind: JsonValueKind.Object } budget && budget.GetProperty("limitUsd").GetDecimal() == 0.75m, detail.ToString());
    }

    [Fact]
    public async Task Should_answer_404_for_a_budget_of_an_unknown_run_or_project()
    {
        await PutAsync($"/api/prompt-analyses/runs/{Guid.NewGuid()}/budget", "{\"limitUsd\":1}", HttpStatusCode.NotFound);
        await PutAsync($"/api/projects/{Guid.NewGuid()}/budget", "{\"limitUsd\":1}", HttpStatusCode.NotFound);
        using var unknown = await _client.GetAsync(new Uri($"/api/projects/{Guid.NewGuid()}/budget", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Should_set_a_project_budget_for_today_or_a_day_to_come_and_show_it()
    {
        var projectId = await When_projects_and_prompts_are_managed_through_the_api.CreateProjectAsync(_client);
        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var tomorrow = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        var set = await PutAsync($"/api/projects/{projectId}/budget", "{\"limitUsd\":3}", HttpStatusCode.OK);
        Assert.Equal(($"project-day:{projectId:N}:{today}", "project-day", 3m), (set.GetProperty("id").GetString(), set.GetProperty("kind").GetString(), set.GetProperty("limitUsd").GetDecimal()));
        await PutAsync($"/api/projects/{projectId}/budget", $"{{\"limitUsd\":4,\"day\":\"{tomorrow}\"}}", HttpStatusCode.OK);

        var shown = await _client.GetFromJsonAsync<JsonElement>($"/api/projects/{projectId}/budget?day={today}");
        var next = await _client.GetFromJsonAsync<JsonElement>($"/api/projects/{projectId}/budget?day={tomorrow}");
        Assert.Equal((3m, 4m), (shown.GetProperty("limitUsd").GetDecimal(), next.GetProperty("limitUsd").GetDecimal()));
        using var none = await _client.GetAsync(new Uri($"/api/projects/{projectId}/budget?day=2030-01-01", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.Contains("has no budget for 2030-01-01", (await none.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"limitUsd\":1,\"day\":\"2020-01-01\"}", "day", "which has passed")]
    [InlineData("{\"limitUsd\":1,\"day\":\"05/12/2026\"}", "day", "yyyy-MM-dd")]
    [InlineData("{\"limitUsd\":0}", "limitUsd", "a budget must be above zero")]
    [InlineData("{\"limitUsd\":-1,\"day\":\"tomorrow\"}", "limitUsd", "a budget must be above zero")]
    public async Task Should_refuse_a_bad_project_budget_and_store_nothing(string body, string field, string message)
    {
        var projectId = await When_projects_and_prompts_are_managed_through_the_api.CreateProjectAsync(_client);

        var problem = await PutAsync($"/api/projects/{projectId}/budget", body, HttpStatusCode.BadRequest);

        Assert.Contains(message, problem.GetProperty("errors").GetProperty(field)[0].GetString(), StringComparison.Ordinal);
        using var none = await _client.GetAsync(new Uri($"/api/projects/{projectId}/budget", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
    }

    [Fact]
    public async Task Should_refuse_a_malformed_day_when_reading_a_project_budget()
    {
        var projectId = await When_projects_and_prompts_are_managed_through_the_api.CreateProjectAsync(_client);

        using var response = await _client.GetAsync(new Uri($"/api/projects/{projectId}/budget?day=next-week", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("day", out _));
    }

    private async Task<Guid> StartRunAsync()
    {
        var projectId = await When_projects_and_prompts_are_managed_through_the_api.CreateProjectAsync(_client);
        (await _client.PostAsJsonAsync("/api/prompts", new { projectId, text = "best anvil " + Guid.NewGuid().ToString("N")[..6] })).EnsureSuccessStatusCode();
        using var started = await _client.PostAsJsonAsync("/api/prompt-analyses/runs", new { scope = "project", projectId, force = true });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var runId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();
        await Eventually.MatchAsync(() => _client.GetFromJsonAsync<JsonElement>($"/api/prompt-analyses/runs/{runId}"),
            d => d.GetProperty("run").GetProperty("totalAnalyses") is { ValueKind: JsonValueKind.Number } total && total.GetInt32() == 1, Patience, d => d.ToString());
        return runId;
    }

    private async Task<JsonElement> PutAsync(string route, string body, HttpStatusCode expected)
    {
        using var response = await _client.PutAsync(new Uri(route, UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == expected, $"{route} {body}: {(int)response.StatusCode} {answer}");
        return answer;
    }
}
