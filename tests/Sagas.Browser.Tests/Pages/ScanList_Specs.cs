using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

/// <summary>Issue 17: the Scan page showed only the session in hand; it lists every scan, by status and creation time.</summary>
[Collection(DashboardCollection.Name)]
public sealed class When_the_scan_page_lists_scans(DashboardFixture dashboard)
{
    [Fact]
    public async Task Should_list_them_newest_first_filter_them_and_open_one()
    {
        using var client = new HttpClient { BaseAddress = dashboard.BaseAddress };
        var older = await StartAsync(client, "Sheet names HOLE-7.");
        var newer = await StartAsync(client, "Sheet names HOLE-7 and HOLE-8.");
        await WaitForFinishedAsync(client, older);
        await WaitForFinishedAsync(client, newer);

        await using var browser = await dashboard.OpenAsync("#/scan");
        var page = browser.Page;
        var list = page.GetByTestId("scans-table");
        var olderRow = list.Locator("tbody tr", new() { Has = page.Locator($"[data-id='{older}']") });
        var newerRow = list.Locator("tbody tr", new() { Has = page.Locator($"[data-id='{newer}']") });
        await Expect(olderRow.Locator(".badge")).ToHaveTextAsync("completed", new() { Timeout = 30_000 });
        await Expect(newerRow.Locator(".badge")).ToHaveTextAsync("completed");
        // Newest first, each with its short id (the id's last characters) and a copyable full id.
        var order = await list.Locator("tbody [data-id]").EvaluateAllAsync<string[]>("nodes => nodes.map(n => n.dataset.id)");
        Assert.True(Array.IndexOf(order, newer.ToString()) < Array.IndexOf(order, older.ToString()), string.Join(", ", order));
        await Expect(newerRow.Locator("code")).ToHaveTextAsync(LlmJobsListSpecs.ShortId(newer));
        await Expect(newerRow).ToContainTextAsync("1 / 1");

        await page.SelectOptionAsync("#scan-list-status", "cancelled");
        await Expect(page.GetByTestId("scans-table-empty")).ToHaveTextAsync("No scans match.");
        await page.SelectOptionAsync("#scan-list-status", "completed");
        await page.SelectOptionAsync("#scan-list-within", "1");
        await Expect(newerRow).ToBeVisibleAsync();
        await ChromiumBrowser.ScreenshotAsync(page, "scan-list");

        await olderRow.GetByRole(AriaRole.Link).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"#/scan/{older}$"));
        await Expect(page.GetByTestId("scan-status").Locator(".badge")).ToHaveTextAsync("completed");
        await Expect(page.GetByTestId("matches-table").Locator("tbody tr")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("scans-table").Locator("tr.current")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("scans-table").Locator($"tr.current [data-id='{older}']")).ToHaveCountAsync(1);

        Assert.Empty(browser.ScriptErrors);
    }

    private static async Task<Guid> StartAsync(HttpClient client, string text)
    {
        using var response = await client.PostAsJsonAsync("/api/scan-sessions", new
        {
            targetHoleCodes = new[] { "HOLE-7", "HOLE-8" },
            fileContent = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text)),
            fileName = "sheet.txt",
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task WaitForFinishedAsync(HttpClient client, Guid id)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (true)
        {
            using var response = await client.GetAsync(new Uri($"/api/scan-sessions/{id}", UriKind.Relative), deadline.Token);
            if (response.StatusCode == HttpStatusCode.OK
                && (await response.Content.ReadFromJsonAsync<JsonElement>(deadline.Token)).GetProperty("status").GetString() is "completed")
                return;
            await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
        }
    }
}
