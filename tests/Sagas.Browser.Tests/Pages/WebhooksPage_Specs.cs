using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using Sagas.Notifications.Webhooks;
using Sagas.Persistence;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

/// <summary>
/// The webhooks page on a dashboard with one endpoint whose receiver never answers (a closed port) and 20,000
/// deliveries on record: the list pages, the filter is part of the link, and a rejected delivery is sent again.
/// </summary>
[Collection(WebhooksDashboardCollection.Name)]
public sealed class When_the_webhooks_page_opens(WebhooksDashboardFixture dashboard)
{
    [Fact]
    public async Task Should_summarise_the_endpoint_and_page_through_twenty_thousand_deliveries()
    {
        await using var browser = await dashboard.OpenAsync("#/webhooks");
        var page = browser.Page;

        var row = page.GetByTestId("webhook-endpoints-table").Locator("tbody tr", new() { HasText = WebhooksDashboardServer.Endpoint });
        // The other spec turns the rejected delivery into a failed one; only the delivered count is the same either way.
        await Expect(row).ToContainTextAsync("19,997");
        await Expect(row).Not.ToContainTextAsync("never-shown-token");
        await ChromiumBrowser.ScreenshotAsync(page, "webhooks");

        await row.GetByRole(AriaRole.Link, new() { Name = WebhooksDashboardServer.Endpoint }).ClickAsync();
        var deliveries = page.GetByTestId("webhook-deliveries-table");
        await Expect(deliveries.Locator("tbody tr")).ToHaveCountAsync(50);
        await Expect(page.GetByTestId("webhook-deliveries")).ToContainTextAsync("20,000");
        await ChromiumBrowser.ScreenshotAsync(page, "webhook-deliveries");

        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task Should_open_the_rejected_filter_from_the_summary_and_send_the_delivery_again()
    {
        await using var browser = await dashboard.OpenAsync("#/webhooks");
        var page = browser.Page;

        await page.GetByTestId("webhook-endpoints-table").GetByRole(AriaRole.Link, new() { Name = "1 rejected" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"#/webhooks/{WebhooksDashboardServer.Endpoint}/rejected$"));
        var row = page.GetByTestId("webhook-deliveries-table").Locator("tbody tr");
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row).ToContainTextAsync("HTTP 410");
        await ChromiumBrowser.ScreenshotAsync(page, "webhook-deliveries-rejected");

        await row.GetByRole(AriaRole.Button, new() { Name = "Send again" }).ClickAsync();
        await Expect(page.GetByTestId("webhook-redelivery-result")).ToContainTextAsync($"Queued {WebhooksDashboardServer.RejectedId} again");
        // Once queued it is no longer rejected; the closed port then makes it a failed delivery with one more attempt,
        // which the unfiltered list shows by itself: it follows a delivery in flight until it settles.
        await Expect(page.GetByTestId("webhook-deliveries")).ToContainTextAsync("No rejected deliveries.");
        await page.SelectOptionAsync("#webhook-status-filter", "");
        var redelivered = page.GetByTestId("webhook-deliveries-table").Locator("tbody tr").First;
        await Expect(redelivered).ToContainTextAsync("Connection refused", new() { Timeout = 30_000 });
        await Expect(redelivered.Locator(".badge")).ToHaveTextAsync("failed");
        await Expect(redelivered.Locator("td").Nth(5)).ToHaveTextAsync("2");
        await ChromiumBrowser.ScreenshotAsync(page, "webhook-deliveries-sent-again");

        Assert.Empty(browser.ScriptErrors);
    }
}

public sealed class WebhooksDashboardServer : DashboardServer
{
    public const string Endpoint = "crm";
    public const string RejectedId = "msg_rejected_for_the_browser_spec";

    protected override void ConfigureMore(IWebHostBuilder builder)
    {
        builder.UseSetting("Notifications:Webhooks:0:Name", Endpoint);
        // Port 9 (discard) on loopback is closed: a redelivery fails at once with a connection error.
        builder.UseSetting("Notifications:Webhooks:0:Url", "http://127.0.0.1:9/hooks/never-shown-token");
        builder.UseSetting("Notifications:Webhooks:0:Secret", "whsec_" + Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()));
        builder.UseSetting("Notifications:MaxRetries", "0");
        builder.UseSetting("Notifications:MessageRetries", "0");
    }

    /// <summary>19,997 delivered, one rejected, one failed, one being posted; newest first on the page.</summary>
    public async Task SeedAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var now = DateTimeOffset.UtcNow;
        var rows = Enumerable.Range(0, 20_000).Select(i => new WebhookDelivery
        {
            WebhookId = i switch { 0 => RejectedId, 1 => "msg_failed_for_the_browser_spec", 2 => "msg_posting_for_the_browser_spec", _ => $"msg_seeded_{i:D5}" },
            Endpoint = Endpoint,
            EventType = "llm-job.finished",
            CreatedAt = now.AddSeconds(-i),
            LastAttemptAt = now.AddSeconds(-i),
            ClaimedUntil = i == 2 ? now.AddMinutes(10) : now.AddSeconds(-i),
            SentAt = i is 1 or 2 ? null : now.AddSeconds(-i),
            StatusCode = i switch { 0 => 410, 1 or 2 => null, _ => 200 },
            LastError = i switch { 0 => "HTTP 410", 1 => "HttpRequestException: Connection refused (127.0.0.1:9)", _ => null },
            Attempts = 1,
            LastLatencyMs = 20 + i % 80,
            Body = "{\"type\":\"llm-job.finished\"}",
        });
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        foreach (var chunk in rows.Chunk(2_000))
        {
            db.AddRange(chunk);
            await db.SaveChangesAsync();
            db.ChangeTracker.Clear();
        }

        Assert.Equal(20_000, await db.Set<WebhookDelivery>().CountAsync());
    }
}

public sealed class WebhooksDashboardFixture() : DashboardFixture(new WebhooksDashboardServer()), IAsyncLifetime
{
    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();
        await ((WebhooksDashboardServer)Server).SeedAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class WebhooksDashboardCollection : ICollectionFixture<WebhooksDashboardFixture>
{
    public const string Name = "webhooks-dashboard";
}
