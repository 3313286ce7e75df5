using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

/// <summary>
/// Issue 17: every job showed the same short id (ids made by one process share their first characters), the created
/// time was clipped, and a job that completed with failed items looked like a clean success.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class When_the_jobs_list_is_read(DashboardFixture dashboard)
{
    [Fact]
    public async Task Should_tell_jobs_apart_by_short_id_copy_the_full_id_and_show_when_each_finished()
    {
        using var client = new HttpClient { BaseAddress = dashboard.BaseAddress };
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++)
            ids.Add(await SubmitAsync(client, $"item {i}"));
        await WaitForCompletedAsync(client, ids);

        await using var browser = await dashboard.OpenAsync();
        await browser.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);
        var page = browser.Page;
        await page.SetViewportSizeAsync(1280, 800);
        await page.GotoAsync("/#/jobs");
        var table = page.GetByTestId("jobs-table");
        var rows = ids.Select(id => table.Locator("tbody tr", new() { Has = page.Locator($"a[href='#/jobs/{id}']") })).ToList();
        foreach (var row in rows)
            await Expect(row.Locator(".badge")).ToHaveTextAsync("completed", new() { Timeout = 30_000 });

        var shown = new List<string>();
        for (var i = 0; i < ids.Count; i++)
        {
            var text = (await rows[i].Locator("a").First.InnerTextAsync()).Trim();
            Assert.Equal(ShortId(ids[i]), text);
            shown.Add(text);
        }

        Assert.Equal(ids.Count, shown.Distinct().Count());

        // Ids made in the same few milliseconds share their last characters: their short forms still differ.
        var burst = Enumerable.Range(0, 50).Select(_ => MassTransit.NewId.NextGuid()).ToList();
        var shortForms = await page.EvaluateAsync<string[]>(
            "async ids => { const { shortId } = await import('/js/ui.js'); return ids.map(shortId); }", burst.Select(g => g.ToString()).ToArray());
        Assert.Equal(burst.Select(ShortId), shortForms);
        var clashes = burst.GroupBy(ShortId).Where(g => g.Count() > 1).Select(g => string.Join(" = ", g)).ToList();
        Assert.True(clashes.Count == 0, "Ids with the same short form: " + string.Join("; ", clashes.Take(5)));

        var headers = await table.Locator("thead th").AllInnerTextsAsync();
        Assert.Contains("FINISHED", headers.Select(h => h.ToUpperInvariant()));
        Assert.Contains("DURATION", headers.Select(h => h.ToUpperInvariant()));
        // Every date sits on one line, whole: none wraps or is cut off.
        var clipped = await table.Locator("tbody time").EvaluateAllAsync<int>(
            "nodes => nodes.filter(n => n.getClientRects().length !== 1 || n.scrollWidth > n.getBoundingClientRect().width + 1 || n.getBoundingClientRect().right > n.closest('table').getBoundingClientRect().right + 1).length");
        Assert.Equal(0, clipped);
        Assert.Equal(6, await rows.Aggregate(Task.FromResult(0), async (sum, row) => await sum + await row.Locator("time").CountAsync()));

        await rows[0].GetByRole(AriaRole.Button, new() { Name = $"Copy {ids[0]}" }).ClickAsync();
        Assert.Equal(ids[0].ToString(), await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        await ChromiumBrowser.ScreenshotAsync(page, "llm-jobs-list");

        // The job's own page names it in full, with the same copy button.
        await rows[1].Locator("a").ClickAsync();
        await Expect(page.Locator("h1")).ToContainTextAsync(ids[1].ToString());
        await page.Locator("h1").GetByRole(AriaRole.Button, new() { Name = $"Copy {ids[1]}" }).ClickAsync();
        Assert.Equal(ids[1].ToString(), await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task Should_badge_a_job_that_completed_with_failed_items()
    {
        using var client = new HttpClient { BaseAddress = dashboard.BaseAddress };
        var id = await SubmitAsync(client, "one item");
        await WaitForCompletedAsync(client, [id]);

        await using var browser = await dashboard.OpenAsync();
        var page = browser.Page;
        // The simulated provider here never fails an item: the list's answer is given two failed items of three.
        await page.RouteAsync(url => url.Contains("/api/llm-jobs?", StringComparison.Ordinal), async route =>
        {
            var response = await route.FetchAsync();
            var body = JsonNode.Parse(await response.TextAsync())!;
            foreach (var job in body["items"]!.AsArray())
            {
                if (job!["id"]!.GetValue<string>() == id.ToString())
                {
                    job["totalItems"] = 3;
                    job["processedItems"] = 3;
                    job["succeededItems"] = 1;
                    job["failedItems"] = 2;
                }
            }

            await route.FulfillAsync(new() { Response = response, Body = body.ToJsonString() });
        });
        await page.GotoAsync("/#/jobs");
        var row = page.GetByTestId("jobs-table").Locator("tbody tr", new() { Has = page.Locator($"a[href='#/jobs/{id}']") });
        await Expect(row.Locator(".badge")).ToHaveTextAsync("completed · 2 failed", new() { Timeout = 30_000 });
        await Expect(row.Locator(".badge")).ToHaveAttributeAsync("data-status", "completed-with-failures");
        Assert.Empty(browser.ScriptErrors);
    }

    private static string ShortId(Guid id) => LlmJobsListSpecs.ShortId(id);

    private static async Task<Guid> SubmitAsync(HttpClient client, string input)
    {
        using var response = await client.PostAsJsonAsync("/api/llm-jobs", new { kind = "flagging", items = new[] { new { id = "1", entityType = "post", entityId = "1", input } } });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task WaitForCompletedAsync(HttpClient client, IEnumerable<Guid> ids)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        foreach (var id in ids)
        {
            while (true)
            {
                using var response = await client.GetAsync(new Uri($"/api/llm-jobs/{id}", UriKind.Relative), deadline.Token);
                if (response.StatusCode == HttpStatusCode.OK
                    && (await response.Content.ReadFromJsonAsync<JsonElement>(deadline.Token)).GetProperty("job").GetProperty("status").GetString() is "completed")
                    break;
                await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
            }
        }
    }
}

/// <summary>The dashboard's short form of an id: the fourth group, the last four characters, and a nonzero NewId sequence.</summary>
internal static class LlmJobsListSpecs
{
    public static string ShortId(Guid id)
    {
        var groups = id.ToString().Split('-');
        var sequence = Convert.ToInt32(groups[0][6..8] + groups[0][4..6], 16);
        return $"{groups[3]}…{groups[4][^4..]}" + (sequence == 0 ? "" : $"+{sequence}");
    }
}
