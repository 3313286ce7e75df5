using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

/// <summary>The Budget card of a prompt-analysis run's page: set from the page, shown, refused when bad, gone once the run ends.</summary>
public sealed class When_a_prompt_analysis_run_budget_is_set_from_the_dashboard(SlowAnalysesDashboardFixture dashboard) : IClassFixture<SlowAnalysesDashboardFixture>
{
    [Fact]
    public async Task Should_set_and_raise_the_budget_and_show_a_refusal()
    {
        using var client = new HttpClient { BaseAddress = dashboard.BaseAddress };
        using var project = await client.PostAsJsonAsync("/api/projects", new { name = "Acme " + Guid.NewGuid().ToString("N")[..6], brands = new[] { "Acme" } });
        var projectId = (await project.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        (await client.PostAsJsonAsync("/api/prompts", new { projectId, text = "best anvil" })).EnsureSuccessStatusCode();
        using var started = await client.PostAsJsonAsync("/api/prompt-analyses/runs", new { scope = "project", projectId, force = true });
        var runId = (await started.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();

        await using var browser = await dashboard.OpenAsync($"#/analyses/runs/{runId}");
        var page = browser.Page;
        var budget = page.GetByTestId("run-budget-area");
        await Expect(budget).ToContainTextAsync("No budget: the run's model calls are not limited.", new() { Timeout = 30_000 });

        await budget.GetByLabel("New budget in USD").FillAsync("0.50");
        await budget.GetByRole(AriaRole.Button, new() { Name = "Set budget" }).ClickAsync();
        await Expect(budget.GetByTestId("run-budget")).ToContainTextAsync("$0.5000", new() { Timeout = 30_000 });
        await ChromiumBrowser.ScreenshotAsync(page, "analyses-run-budget");

        // The browser's own check lets 0 through a typed field only by script; the API's refusal is what the page shows.
        await budget.GetByLabel("New budget in USD").EvaluateAsync("input => { input.min = ''; input.value = '0'; }");
        await budget.GetByRole(AriaRole.Button, new() { Name = "Change budget" }).ClickAsync();
        await Expect(budget).ToContainTextAsync("a budget must be above zero", new() { Timeout = 30_000 });
        await Expect(budget.GetByTestId("run-budget")).ToContainTextAsync("$0.5000");

        using (var cancel = await client.PostAsync($"/api/prompt-analyses/runs/{runId}/cancel", null))
            cancel.EnsureSuccessStatusCode();
        await Expect(budget.GetByRole(AriaRole.Button)).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        await Expect(budget.GetByTestId("run-budget")).ToContainTextAsync("$0.5000");
        Assert.Empty(browser.ScriptErrors);
    }
}
