using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

/// <summary>
/// Prompt analyses held by a budget, on the dashboard with every ask priced at $0.08: a run started with a budget too
/// small for one ask shows its analysis paused with the reason; a project's budget for today is set, shown paused and
/// raised from the project's page.
/// </summary>
public sealed class When_prompt_analyses_are_paused_by_a_budget(PricedDashboardFixture dashboard) : IClassFixture<PricedDashboardFixture>
{
    [Fact]
    public async Task Should_show_the_paused_analysis_with_its_reason_and_resume_it_from_the_run_budget()
    {
        using var client = new HttpClient { BaseAddress = dashboard.BaseAddress };
        var projectId = await CreateProjectAsync(client, "best anvil");
        using var started = await client.PostAsJsonAsync("/api/prompt-analyses/runs", new { scope = "project", projectId, force = true, budgetUsd = 0.05m });
        var runId = (await started.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();

        await using var browser = await dashboard.OpenAsync($"#/analyses/runs/{runId}");
        var page = browser.Page;
        var analysis = page.GetByTestId("analysis");
        await Expect(analysis.GetByTestId("analysis-paused")).ToContainTextAsync("run budget of $0.05 reached", new() { Timeout = 30_000 });
        await Expect(analysis.Locator(".badge").First).ToHaveTextAsync("paused");
        await Expect(page.GetByTestId("run-paused-count")).ToHaveTextAsync("1");
        await Expect(page.GetByTestId("run-budget-area").GetByTestId("run-paused")).ToContainTextAsync("Paused by its budget");
        await ChromiumBrowser.ScreenshotAsync(page, "analyses-run-paused");

        var budget = page.GetByTestId("run-budget-area");
        await budget.GetByLabel("New budget in USD").FillAsync("5");
        await budget.GetByRole(AriaRole.Button, new() { Name = "Raise budget and resume" }).ClickAsync();
        await Expect(analysis.GetByTestId("analysis-paused")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("run-paused-count")).ToHaveTextAsync("0");
        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task Should_set_show_paused_and_raise_the_project_budget_of_today_from_the_project_page()
    {
        using var client = new HttpClient { BaseAddress = dashboard.BaseAddress };
        var name = "Budgeted " + Guid.NewGuid().ToString("N")[..6];
        var projectId = await CreateProjectAsync(client, "best rocket skates", name);

        await using var browser = await dashboard.OpenAsync("#/analyses");
        var page = browser.Page;
        await page.GetByTestId("projects-table").GetByRole(AriaRole.Link, new() { Name = name }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Project " + name })).ToBeVisibleAsync(new() { Timeout = 30_000 });
        var budget = page.GetByTestId("project-budget-area");
        await Expect(budget).ToContainTextAsync("No budget for today", new() { Timeout = 30_000 });

        await budget.GetByLabel("New budget in USD").FillAsync("0.05");
        await budget.GetByRole(AriaRole.Button, new() { Name = "Set budget" }).ClickAsync();
        await Expect(budget.GetByTestId("project-budget")).ToContainTextAsync("$0.0500", new() { Timeout = 30_000 });

        // Every ask of the project today reserves on it, whatever the run: $0.08 does not fit in $0.05.
        using (var started = await client.PostAsJsonAsync("/api/prompt-analyses/runs", new { scope = "project", projectId, force = true }))
            started.EnsureSuccessStatusCode();
        await Expect(budget.GetByTestId("project-paused")).ToContainTextAsync("project day budget of $0.05 reached", new() { Timeout = 30_000 });
        await ChromiumBrowser.ScreenshotAsync(page, "analyses-project-budget");

        await budget.GetByLabel("New budget in USD").EvaluateAsync("input => { input.min = ''; input.value = '0'; }");
        await budget.GetByRole(AriaRole.Button, new() { Name = "Raise budget and resume" }).ClickAsync();
        await Expect(budget).ToContainTextAsync("a budget must be above zero", new() { Timeout = 30_000 });

        await budget.GetByLabel("New budget in USD").FillAsync("5");
        await budget.GetByRole(AriaRole.Button, new() { Name = "Raise budget and resume" }).ClickAsync();
        await Expect(budget.GetByTestId("project-paused")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        await Expect(budget.GetByTestId("project-budget")).ToContainTextAsync("$5.0000");
        // The raise resumed the parked asks: they answer and settle on today's budget.
        await Expect(budget.GetByTestId("project-budget")).Not.ToContainTextAsync("Spent$0.0000", new() { Timeout = 30_000 });
        Assert.Empty(browser.ScriptErrors);
    }

    private static async Task<Guid> CreateProjectAsync(HttpClient client, string prompt, string? name = null)
    {
        using var project = await client.PostAsJsonAsync("/api/projects", new { name = name ?? "Acme " + Guid.NewGuid().ToString("N")[..6], brands = new[] { "Acme" } });
        var projectId = (await project.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        (await client.PostAsJsonAsync("/api/prompts", new { projectId, text = prompt })).EnsureSuccessStatusCode();
        return projectId;
    }
}
