using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

[Collection(DashboardCollection.Name)]
public sealed class When_the_system_page_opens(DashboardFixture dashboard)
{
    [Fact]
    public async Task Should_show_each_readiness_check_and_round_trip_to_a_worker()
    {
        await CompleteOneLlmJobAsync();
        await using var browser = await dashboard.OpenAsync("#/system");
        var page = browser.Page;

        var health = page.GetByTestId("health-table");
        foreach (var check in new[] { "database", "masstransit-bus", "scheduler" })
            await Expect(health.Locator("tr", new() { HasText = check }).Locator(".badge")).ToHaveTextAsync("Healthy");

        await page.GetByRole(AriaRole.Button, new() { Name = "Round-trip a message to a worker" }).ClickAsync();
        await Expect(page.GetByTestId("worker-check")).ToContainTextAsync("A worker answered", new() { Timeout = 20_000 });
        await Expect(page.GetByTestId("sagas-table").Locator("tr", new() { HasText = "llm-job" })).ToContainTextAsync("Completed");
        await ChromiumBrowser.ScreenshotAsync(page, "system");

        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task Should_pause_and_resume_a_schedule_from_its_row()
    {
        await using var browser = await dashboard.OpenAsync("#/system");
        var page = browser.Page;

        var row = page.GetByTestId("schedules-table").Locator("tbody tr", new() { HasText = "llm-job-poll" });
        await Expect(row.Locator(".badge")).ToHaveTextAsync("active");

        await row.GetByRole(AriaRole.Button, new() { Name = "Pause" }).ClickAsync();
        await Expect(row.Locator(".badge")).ToHaveTextAsync("paused");
        await ChromiumBrowser.ScreenshotAsync(page, "system-schedule-paused");

        await row.GetByRole(AriaRole.Button, new() { Name = "Resume" }).ClickAsync();
        await Expect(row.Locator(".badge")).ToHaveTextAsync("active");
        Assert.Empty(browser.ScriptErrors);
    }

    /// <summary>The sagas table counts saga rows, so the page needs one LLM job saga that reached its final state.</summary>
    private async Task CompleteOneLlmJobAsync()
    {
        using var client = new HttpClient { BaseAddress = dashboard.BaseAddress };
        using var submitted = await client.PostAsJsonAsync("/api/llm-jobs", new { kind = "flagging", items = new[] { new { entityType = "post", entityId = "1", input = "x" } } });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var report = await client.GetFromJsonAsync<JsonElement>("/api/system/sagas", deadline.Token);
            var llmJobs = report.GetProperty("sagas").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "llm-job");
            if (llmJobs.GetProperty("states").EnumerateArray().Any(s => s.GetProperty("state").GetString() == "Completed"))
                return;
            await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
        }
    }
}
