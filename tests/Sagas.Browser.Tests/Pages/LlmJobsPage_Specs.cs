using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

[Collection(DashboardCollection.Name)]
public sealed class When_a_job_is_submitted_from_the_dashboard(DashboardFixture dashboard)
{
    private static readonly LocatorAssertionsToHaveTextOptions Eventually = new() { Timeout = 90_000 };

    [Fact]
    public async Task Should_follow_it_live_to_completed_with_every_item_succeeded()
    {
        await using var browser = await dashboard.OpenAsync("#/jobs");
        var page = browser.Page;

        await page.FillAsync("#job-items", "Buy cheap watches now!!!\nLovely weather today.\nClick here to win a prize\nMeeting moved to 3pm\nFree crypto giveaway");
        await page.GetByRole(AriaRole.Button, new() { Name = "Submit job" }).ClickAsync();

        // Expect polls the address; WaitForURL can miss a hash change that lands while it subscribes (seen in CI).
        await Expect(page).ToHaveURLAsync(new Regex("#/jobs/[0-9a-f-]{36}$"), new() { Timeout = 30_000 });
        var jobId = page.Url[(page.Url.LastIndexOf('/') + 1)..];
        var header = page.GetByTestId("job-header");
        await Expect(header.Locator(".badge").First).ToHaveTextAsync("completed", Eventually);
        await Expect(header.GetByTestId("progress")).ToHaveAttributeAsync("aria-valuenow", "100");
        await Expect(page.GetByTestId("items-table").Locator("tbody tr")).ToHaveCountAsync(5);
        await Expect(page.GetByTestId("items-table").Locator("tbody .badge")).ToHaveTextAsync(Enumerable.Repeat("succeeded", 5).ToArray());
        await ChromiumBrowser.ScreenshotAsync(page, "llm-job-detail");

        await page.GetByRole(AriaRole.Link, new() { Name = "← All jobs" }).ClickAsync();
        var row = page.GetByTestId("jobs-table").Locator("tbody tr", new() { Has = page.Locator($"a[href='#/jobs/{jobId}']") });
        await Expect(row.Locator(".badge")).ToHaveTextAsync("completed");
        await ChromiumBrowser.ScreenshotAsync(page, "llm-jobs");

        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task Should_show_the_problem_details_when_the_api_refuses_the_job()
    {
        await using var browser = await dashboard.OpenAsync("#/jobs");
        var page = browser.Page;

        await page.FillAsync("input[name=kind]", "no-such-kind");
        await page.FillAsync("#job-items", "some text");
        await page.GetByRole(AriaRole.Button, new() { Name = "Submit job" }).ClickAsync();

        var problem = page.GetByTestId("submit-result").GetByTestId("problem");
        await Expect(problem).ToContainTextAsync("The job was not submitted (400)");
        await Expect(problem).ToContainTextAsync("Unknown kind 'no-such-kind'");
        Assert.EndsWith("#/jobs", page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_filter_the_list_by_status_even_while_a_refresh_is_in_flight()
    {
        using (var client = new HttpClient { BaseAddress = dashboard.BaseAddress })
        {
            using var submitted = await client.PostAsJsonAsync("/api/llm-jobs", new { kind = "flagging", items = new[] { new { id = "1", entityType = "post", entityId = "1", input = "hello" } } });
            Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        }

        await using var browser = await dashboard.OpenAsync("#/jobs");
        var page = browser.Page;
        // Once nothing on screen runs, the page stops refreshing on its own: only the filter can bring the list up to date.
        await Expect(page.GetByTestId("jobs-table").Locator("tbody .badge", new() { HasTextRegex = new Regex("^(queued|running)$") })).ToHaveCountAsync(0, new() { Timeout = 90_000 });
        await Expect(page.GetByTestId("jobs-table").Locator("tbody tr").First).ToBeVisibleAsync();

        // An unfiltered refresh is held at the network until the filter has been changed. The filter's own request must
        // still be made (before the fix it was dropped while a refresh was in flight, and the list stayed unfiltered), and
        // the late unfiltered answer must not paint over its result.
        static bool Unfiltered(string url) => url.Contains("/api/llm-jobs?", StringComparison.Ordinal) && !url.Contains("status=", StringComparison.Ordinal);
        var filterChanged = new TaskCompletionSource();
        var heldRefreshFinished = new TaskCompletionSource();
        page.RequestFinished += (_, request) =>
        {
            if (filterChanged.Task.IsCompleted && Unfiltered(request.Url))
                heldRefreshFinished.TrySetResult();
        };
        await page.RouteAsync(Unfiltered, async route =>
        {
            await filterChanged.Task;
            await route.ContinueAsync();
        });
        await page.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();
        await page.SelectOptionAsync("#job-status-filter", "cancelled");
        filterChanged.SetResult();

        await Expect(page.GetByTestId("jobs-table-empty")).ToHaveTextAsync("No jobs match.");
        await heldRefreshFinished.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await page.EvaluateAsync("() => new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve)))");
        await Expect(page.GetByTestId("jobs-table-empty")).ToHaveTextAsync("No jobs match.");
    }
}
