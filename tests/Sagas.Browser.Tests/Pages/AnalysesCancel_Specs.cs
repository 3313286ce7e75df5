using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

/// <summary>The Cancel buttons of a prompt-analysis run's page: one analysis, then the rest of the run.</summary>
public sealed class When_a_prompt_analysis_run_is_cancelled_from_the_dashboard(SlowAnalysesDashboardFixture dashboard) : IClassFixture<SlowAnalysesDashboardFixture>
{
    [Fact]
    public async Task Should_cancel_a_pending_analysis_then_the_whole_run()
    {
        using var client = new HttpClient { BaseAddress = dashboard.BaseAddress };
        var runId = await StartRunAsync(client, "best anvil", "best rocket skates");
        await using var browser = await dashboard.OpenAsync($"#/analyses/runs/{runId}");
        var page = browser.Page;
        // The reason prompt: answered, as a person would.
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync("not needed any more");
        var run = page.GetByTestId("run");
        var pending = run.GetByTestId("analysis").Filter(new() { Has = page.Locator(".badge", new() { HasTextString = "pending" }) });
        await Expect(pending).ToHaveCountAsync(1, new() { Timeout = 30_000 });
        var running = run.GetByTestId("analysis").Filter(new() { Has = page.Locator(".badge", new() { HasTextString = "running" }) });
        await Expect(running).ToHaveCountAsync(1);
        var pendingId = await pending.GetAttributeAsync("data-id");

        await pending.GetByRole(AriaRole.Button, new() { Name = "Cancel analysis" }).ClickAsync();

        var cancelled = run.Locator($"[data-id=\"{pendingId}\"]");
        await Expect(cancelled.Locator(".toolbar .badge")).ToHaveTextAsync("cancelled", new() { Timeout = 30_000 });
        await Expect(cancelled.GetByRole(AriaRole.Button, new() { Name = "Cancel analysis" })).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("run-cancelled")).ToHaveTextAsync("1");
        await ChromiumBrowser.ScreenshotAsync(page, "analyses-cancel");

        await run.GetByRole(AriaRole.Button, new() { Name = "Cancel run" }).ClickAsync();

        await Expect(run.Locator(".toolbar .badge").First).ToHaveTextAsync("finished", new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("run-cancelled")).ToHaveTextAsync("2");
        await Expect(run.GetByRole(AriaRole.Button, new() { Name = "Cancel run" })).ToHaveCountAsync(0);
        Assert.Empty(browser.ScriptErrors);
    }

    private static async Task<Guid> StartRunAsync(HttpClient client, params string[] prompts)
    {
        using var project = await client.PostAsJsonAsync("/api/projects", new { name = "Acme " + Guid.NewGuid().ToString("N")[..6], brands = new[] { "Acme" } });
        var projectId = (await project.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        foreach (var text in prompts)
            (await client.PostAsJsonAsync("/api/prompts", new { projectId, text })).EnsureSuccessStatusCode();
        using var run = await client.PostAsJsonAsync("/api/prompt-analyses/runs", new { scope = "project", projectId, force = true });
        return (await run.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();
    }
}

/// <summary>One analysis slot and platforms that take ten minutes: a run's first analysis stays running, the rest pending.</summary>
public sealed class SlowAnalysesDashboardServer : DashboardServer
{
    protected override void ConfigureMore(IWebHostBuilder builder)
    {
        builder.UseSetting("PromptAnalyses:MaxConcurrentAnalyses", "1");
        builder.UseSetting("PromptAnalyses:Platforms:Simulated:MinLatencyMs", "600000");
        builder.UseSetting("PromptAnalyses:Platforms:Simulated:MaxLatencyMs", "600000");
    }
}

public sealed class SlowAnalysesDashboardFixture() : DashboardFixture(new SlowAnalysesDashboardServer());
