using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using Sagas.LlmJobs.Data;
using Sagas.Messaging.SagaHistory;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

/// <summary>Issue 19: the Runs page lists the runs of every workflow with the API's filters and cursor paging.</summary>
[Collection(DashboardCollection.Name)]
public sealed class When_the_runs_page_lists_runs(DashboardFixture dashboard)
{
    // Runs seeded in a month of their own, so the other specs' runs (made now) are never on these pages.
    private const string Window = "from=2021-01-01T00%3A00%3A00.000Z&to=2021-02-01T00%3A00%3A00.000Z";

    [Fact]
    public async Task Should_filter_page_and_link_each_run_with_the_filters_kept_in_the_address()
    {
        var sessions = await SeedAsync(dashboard);

        await using var browser = await dashboard.OpenAsync($"#/runs?{Window}");
        var page = browser.Page;
        var rows = page.GetByTestId("runs-table").Locator("tbody tr");
        // The first page waits on the shared dashboard database, which the other specs fill (20,000 files, deliveries,
        // usage rows): room for a loaded machine.
        await Expect(rows).ToHaveCountAsync(50, new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("runs-pager")).ToContainTextAsync("Page 1 · 50 runs");
        await Expect(page.Locator("nav a.active")).ToHaveAttributeAsync("href", "#/runs");
        // Newest first, a short id with its Copy button, the workflow, and no date wrapping.
        await Expect(rows.First.Locator("code")).ToHaveTextAsync(LlmJobsListSpecs.ShortId(sessions[^1]));
        await Expect(rows.First.GetByRole(AriaRole.Button, new() { Name = $"Copy {sessions[^1]}" })).ToBeVisibleAsync();
        await Expect(rows.First).ToContainTextAsync("scan-sessions");
        await Expect(rows.First).ToContainTextAsync("3 min 05 s");
        await ChromiumBrowser.ScreenshotAsync(page, "runs");

        await page.GetByRole(AriaRole.Button, new() { Name = "Next →" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(15);
        await Expect(page.GetByTestId("runs-pager")).ToContainTextAsync("Page 2 · 15 runs · the last page");
        Assert.Contains("cursor=", page.Url, StringComparison.Ordinal);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Next →" })).ToBeDisabledAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "← Previous" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(50);
        Assert.DoesNotContain("cursor=", page.Url, StringComparison.Ordinal);

        await page.SelectOptionAsync("#runs-workflow", "scan-sessions");
        await Expect(rows).ToHaveCountAsync(5);
        await Expect(page).ToHaveURLAsync(new Regex("workflow=scan-sessions"));
        await Expect(page.Locator("#runs-status option")).ToContainTextAsync(["All statuses", "dispatching", "scanning", "reporting", "completed", "failed", "cancelled"]);

        // The address reproduces the view in a fresh tab.
        var link = page.Url;
        await using (var second = await dashboard.OpenAsync(link[link.IndexOf('#', StringComparison.Ordinal)..]))
        {
            await Expect(second.Page.GetByTestId("runs-table").Locator("tbody tr")).ToHaveCountAsync(5);
            await Expect(second.Page.Locator("#runs-workflow")).ToHaveValueAsync("scan-sessions");
            Assert.Empty(second.ScriptErrors);
        }

        await page.FillAsync("#runs-text", "no-run-has-this-text");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page.GetByTestId("runs-table-empty")).ToHaveTextAsync("No runs match these filters.");

        await page.FillAsync("#runs-text", "");
        await page.FillAsync("#runs-project", "not-a-guid");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        var problem = page.GetByTestId("runs-list").GetByTestId("problem");
        await Expect(problem).ToContainTextAsync("The run list was not read (400)");
        await Expect(problem).ToContainTextAsync("project must be a project id (a GUID).");

        await page.FillAsync("#runs-project", "");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        var first = page.GetByTestId("runs-table").Locator("tbody tr").First;
        await Expect(first.Locator($"a[href='#/scan/{sessions[^1]}']")).ToBeVisibleAsync();
        await first.GetByRole(AriaRole.Link).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"#/scan/{sessions[^1]}$"));
        await Expect(page.Locator("h1")).ToHaveTextAsync("Scan");

        Assert.Empty(browser.ScriptErrors);
        Assert.Empty(dashboard.ForeignRequests);
    }

    /// <summary>60 finished jobs and 5 finished scan sessions in January 2021, the sessions the newest.</summary>
    private static async Task<List<Guid>> SeedAsync(DashboardFixture dashboard)
    {
        var at = new DateTimeOffset(2021, 1, 10, 8, 0, 0, TimeSpan.Zero);
        var sessions = new List<Guid>();
        await using var scope = dashboard.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        for (var i = 0; i < 60; i++)
        {
            var created = at.AddMinutes(i);
            db.Add(new LlmJob { Id = Guid.NewGuid(), Kind = "flagging", Model = "simulated", Status = LlmJobStatus.Completed, CreatedAt = created, FinishedAt = created.AddSeconds(12.3), ExpiresAt = created.AddDays(1) });
        }

        for (var i = 0; i < 5; i++)
        {
            var created = at.AddHours(2).AddMinutes(i);
            var session = new ScanSession { Id = Guid.NewGuid(), Status = ScanSessionStatus.Completed, SourceDescription = $"drill-logs-{i}.zip", CreatedAt = created, CompletedAt = created.AddSeconds(185) };
            db.Add(session);
            sessions.Add(session.Id);
        }

        await db.SaveChangesAsync();
        return sessions;
    }
}

/// <summary>Issue 19: a run's page shows its saga history and its consumers' activity per minute.</summary>
[Collection(DashboardCollection.Name)]
public sealed class When_a_job_page_shows_its_timeline(DashboardFixture dashboard)
{
    private static readonly LocatorAssertionsToHaveTextOptions Eventually = new() { Timeout = 90_000 };

    [Fact]
    public async Task Should_show_each_event_with_its_states_and_the_items_finished_per_minute()
    {
        Guid id;
        using (var client = new HttpClient { BaseAddress = dashboard.BaseAddress })
        {
            using var submitted = await client.PostAsJsonAsync("/api/llm-jobs", new
            {
                kind = "flagging",
                items = Enumerable.Range(1, 3).Select(i => new { id = i.ToString(global::System.Globalization.CultureInfo.InvariantCulture), entityType = "post", entityId = "1", input = $"text {i}" }),
            });
            Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
            id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        }

        await using var browser = await dashboard.OpenAsync($"#/jobs/{id}");
        var page = browser.Page;
        await Expect(page.GetByTestId("job-header").Locator(".badge").First).ToHaveTextAsync("completed", Eventually);
        var timeline = page.GetByTestId("timeline");
        // The timeline refreshes itself: the last event moves the saga to Completed.
        await Expect(timeline.Locator("ol.events li").Last.Locator(".states")).ToContainTextAsync("→ Completed", new() { Timeout = 90_000 });
        await Expect(timeline.Locator("ol.events li").First.Locator(".states")).ToContainTextAsync("Initial →");
        await Expect(timeline.GetByTestId("timeline-activity")).ToContainTextAsync("items finished");
        await Expect(timeline.GetByTestId("timeline-fault")).ToHaveCountAsync(0);
        await timeline.ScrollIntoViewIfNeededAsync();
        await ChromiumBrowser.ScreenshotAsync(page, "run-timeline-job");

        Assert.Empty(browser.ScriptErrors);
        Assert.Empty(dashboard.ForeignRequests);
    }

    [Fact]
    public async Task Should_highlight_a_fault_with_its_message_and_count_the_events_not_kept()
    {
        var id = Guid.NewGuid();
        var at = new DateTimeOffset(2021, 5, 3, 9, 0, 0, TimeSpan.Zero);
        await using (var scope = dashboard.Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
            db.Add(new LlmJob { Id = id, Kind = "flagging", Model = "simulated", Status = LlmJobStatus.Failed, CreatedAt = at, FinishedAt = at.AddMinutes(9), ExpiresAt = at.AddDays(1) });
            db.AddRange(
                Event(id, 1, "Accepted", "Initial", "Queued", at),
                Event(id, 2, "Started", "Queued", "Running", at.AddSeconds(2)),
                Event(id, 9, "ItemsFinished", "Running", "Failed", at.AddMinutes(9)),
                new SagaHistoryEntry
                {
                    Saga = "LlmJobState", CorrelationId = id, Kind = SagaHistoryKind.Fault, Event = "PollLlmJob", MessageType = "PollLlmJob",
                    MessageId = Guid.NewGuid(), StateBefore = "Running", At = at.AddMinutes(4), FaultType = "TimeoutException",
                    FaultMessage = "The provider did not answer within 100 s.", Attempts = 3,
                });
            await db.SaveChangesAsync();
        }

        await using var browser = await dashboard.OpenAsync($"#/jobs/{id}");
        var page = browser.Page;
        var timeline = page.GetByTestId("timeline");
        await Expect(timeline.GetByTestId("timeline-dropped")).ToContainTextAsync("6 events not kept");
        await Expect(timeline.Locator("ol.events li")).ToHaveCountAsync(4);
        var fault = timeline.Locator("ol.events li.fault");
        await Expect(fault.GetByTestId("timeline-fault")).ToContainTextAsync("TimeoutException after 3 attempts");
        await Expect(fault).ToContainTextAsync("The provider did not answer within 100 s.");
        await Expect(timeline.Locator("ol.events li").Nth(2)).ToHaveAttributeAsync("data-kind", "fault");
        await timeline.ScrollIntoViewIfNeededAsync();
        await ChromiumBrowser.ScreenshotAsync(page, "run-timeline");

        Assert.Empty(browser.ScriptErrors);
    }

    private static SagaHistoryEntry Event(Guid id, int sequence, string name, string before, string after, DateTimeOffset at) =>
        new()
        {
            Saga = "LlmJobState", CorrelationId = id, Sequence = sequence, Kind = SagaHistoryKind.Event, Event = name,
            MessageType = "LlmJob" + name, MessageId = Guid.NewGuid(), StateBefore = before, StateAfter = after, At = at,
        };
}

/// <summary>Issue 19: runs chosen on the Runs page (ticked, or all matching the filter) are cancelled after a preview and a confirmation.</summary>
public sealed class When_runs_are_cancelled_from_the_runs_page(SlowJobsDashboardFixture dashboard) : IClassFixture<SlowJobsDashboardFixture>
{
    [Fact]
    public async Task Should_preview_ask_for_confirmation_and_show_the_progress_to_the_end()
    {
        var ids = new List<Guid>();
        using (var client = new HttpClient { BaseAddress = dashboard.BaseAddress })
        {
            for (var i = 0; i < 3; i++)
            {
                using var submitted = await client.PostAsJsonAsync("/api/llm-jobs", new { kind = "flagging", mode = "batch", items = new[] { new { id = "1", entityType = "post", entityId = "1", input = "hello" } } });
                Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
                ids.Add((await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
            }
        }

        await using var browser = await dashboard.OpenAsync("#/runs?workflow=llm-jobs");
        var page = browser.Page;
        var table = page.GetByTestId("runs-table");
        Task ExpectRunning(Guid id) => Expect(table.Locator("tbody tr", new() { Has = page.Locator($"[data-id='{id}']") }).Locator(".badge"))
            .ToHaveTextAsync(new Regex("^(queued|running)$"), new() { Timeout = 30_000 });
        foreach (var id in ids)
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();
            await ExpectRunning(id);
        }

        // Two ticked rows: the preview counts them, and "Keep them" starts nothing.
        await Expect(page.Locator("#cancel-selected")).ToBeDisabledAsync();
        await page.GetByRole(AriaRole.Checkbox, new() { Name = $"Select {ids[0]}" }).CheckAsync();
        await page.GetByRole(AriaRole.Checkbox, new() { Name = $"Select {ids[1]}" }).CheckAsync();
        await Expect(page.GetByTestId("selection")).ToHaveTextAsync("2 selected");
        await page.Locator("#cancel-selected").ClickAsync();
        var dialog = page.GetByTestId("confirm-dialog");
        await Expect(dialog.Locator("h2")).ToHaveTextAsync("Cancel 2 runs?");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Keep them" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("bulk-progress")).ToHaveCountAsync(0);
        await ExpectRunning(ids[0]);

        // All matching the filter: the three jobs, confirmed, then followed to the end.
        await page.Locator("#cancel-matching").ClickAsync();
        await Expect(dialog.Locator("h2")).ToHaveTextAsync("Cancel 3 runs?");
        await Expect(dialog).ToContainTextAsync("3 runs matching the filter are still running or queued");
        await ChromiumBrowser.ScreenshotAsync(page, "runs-bulk-confirm");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel the runs" }).ClickAsync();

        var progress = page.GetByTestId("bulk-progress");
        await Expect(progress).ToHaveAttributeAsync("data-status", "completed", new() { Timeout = 30_000 });
        await Expect(progress).ToContainTextAsync("3 of 3 cancel commands sent");
        await Expect(progress).ToContainTextAsync("by local-developer");
        // The commands are sent; the sagas cancel the jobs a moment later, and the list shows it on its next read.
        using (var client = new HttpClient { BaseAddress = dashboard.BaseAddress })
        {
            foreach (var id in ids)
                await WaitForCancelledAsync(client, id);
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();
        foreach (var id in ids)
            await Expect(table.Locator("tbody tr", new() { Has = page.Locator($"[data-id='{id}']") }).Locator(".badge")).ToHaveTextAsync("cancelled");
        await ChromiumBrowser.ScreenshotAsync(page, "runs-bulk-progress");
        Assert.Empty(browser.ScriptErrors);
        Assert.Empty(dashboard.ForeignRequests);
    }

    private static async Task WaitForCancelledAsync(HttpClient client, Guid id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var detail = await client.GetFromJsonAsync<JsonElement>($"/api/llm-jobs/{id}");
            var status = detail.GetProperty("job").GetProperty("status").GetString();
            if (status == "cancelled")
                return;
            Assert.True(DateTime.UtcNow < deadline, $"job {id} is still {status}");
            await Task.Delay(100);
        }
    }
}

/// <summary>The dashboard whose simulated provider takes ten minutes a task: a job stays running until it is cancelled.</summary>
public sealed class SlowJobsDashboardServer : DashboardServer
{
    protected override void ConfigureMore(IWebHostBuilder builder)
    {
        builder.UseSetting("LlmJobs:Providers:Simulated:MinLatency", "00:10:00");
        builder.UseSetting("LlmJobs:Providers:Simulated:MaxLatency", "00:10:00");
        builder.UseSetting("Api:BulkOperations:PollInterval", "00:00:00.200");
    }
}

public sealed class SlowJobsDashboardFixture() : DashboardFixture(new SlowJobsDashboardServer());
