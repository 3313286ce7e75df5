using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using Sagas.Contracts.Diagnostics;
using Sagas.Messaging.FailedMessages;
using Sagas.Persistence;
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

    [Fact]
    public async Task Should_list_a_failed_message_and_redeliver_it_from_its_row()
    {
        // A queue no endpoint reads: the redelivered copy waits there, so the row stays "redelivered" for the assertion.
        var queue = "browser-specs-parking-" + Guid.NewGuid().ToString("N")[..8];
        await SeedFailedMessageAsync(queue);
        await using var browser = await dashboard.OpenAsync("#/system");
        var page = browser.Page;

        var row = page.GetByTestId("failed-table").Locator("tbody tr", new() { HasText = queue });
        await Expect(row).ToContainTextAsync("CheckWorker");
        await Expect(row).ToContainTextAsync("InvalidOperationException: seeded for the browser spec");
        await Expect(row.Locator(".badge")).ToHaveTextAsync("failed");
        await ChromiumBrowser.ScreenshotAsync(page, "system-failed-messages");

        await row.GetByRole(AriaRole.Button, new() { Name = "Redeliver" }).ClickAsync();
        await Expect(row.Locator(".badge")).ToHaveTextAsync("redelivered");
        await Expect(row.GetByRole(AriaRole.Button, new() { Name = "Redeliver" })).ToBeDisabledAsync();
        Assert.Empty(browser.ScriptErrors);
    }

    private async Task SeedFailedMessageAsync(string queue)
    {
        var body = JsonSerializer.Serialize(new
        {
            messageId = Guid.NewGuid(),
            messageType = new[] { MessageUrn.ForTypeString<CheckWorker>() },
            message = new { correlationId = Guid.NewGuid() },
        });
        await using var scope = dashboard.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        db.Add(new FailedMessage
        {
            Id = Guid.NewGuid(),
            MessageId = Guid.NewGuid(),
            MessageTypes = MessageUrn.ForTypeString<CheckWorker>(),
            Queue = queue,
            ExceptionType = typeof(InvalidOperationException).FullName!,
            ExceptionMessage = "seeded for the browser spec",
            FaultedAt = DateTimeOffset.UtcNow,
            Body = Encoding.UTF8.GetBytes(body),
            ContentType = "application/vnd.masstransit+json",
        });
        await db.SaveChangesAsync();
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
