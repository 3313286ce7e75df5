using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

public sealed class When_a_job_is_paused_by_its_budget(PricedDashboardFixture dashboard) : IClassFixture<PricedDashboardFixture>
{
    private static readonly LocatorAssertionsToHaveTextOptions Eventually = new() { Timeout = 90_000 };

    [Fact]
    public async Task Should_show_the_reason_and_resume_when_the_budget_is_raised_from_the_page()
    {
        Guid id;
        using (var client = new HttpClient { BaseAddress = dashboard.BaseAddress })
        {
            using var submitted = await client.PostAsJsonAsync("/api/llm-jobs", new
            {
                kind = "flagging",
                budgetUsd = 0.16m,
                items = Enumerable.Range(1, 5).Select(i => new { id = $"{i}", entityType = "post", entityId = $"{i}", input = $"text {i}" }),
            });
            Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
            id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        }

        await using var browser = await dashboard.OpenAsync($"#/jobs/{id}");
        var page = browser.Page;
        var header = page.GetByTestId("job-header");
        await Expect(header.Locator(".badge").First).ToHaveTextAsync("paused", Eventually);
        var budget = page.GetByTestId("job-budget-area");
        await Expect(budget.GetByTestId("job-paused")).ToContainTextAsync("run budget of $0.16 reached:");
        await Expect(budget.GetByTestId("job-budget")).ToContainTextAsync("$0.16");
        // The two items the budget held finish; the other three wait, unsent.
        await Expect(page.GetByTestId("items-table").Locator("tbody .badge", new() { HasText = "succeeded" })).ToHaveCountAsync(2, new() { Timeout = 60_000 });
        await Expect(page.GetByTestId("items-table").Locator("tbody .badge", new() { HasText = "queued" })).ToHaveCountAsync(3);
        await ChromiumBrowser.ScreenshotAsync(page, "llm-job-paused");

        await budget.GetByLabel("New budget in USD").FillAsync("1.00");
        await budget.GetByRole(AriaRole.Button, new() { Name = "Raise budget and resume" }).ClickAsync();

        await Expect(header.Locator(".badge").First).ToHaveTextAsync("completed", Eventually);
        await Expect(page.GetByTestId("items-table").Locator("tbody .badge")).ToHaveTextAsync(Enumerable.Repeat("succeeded", 5).ToArray());
        await Expect(budget.GetByTestId("job-paused")).ToHaveCountAsync(0);
        await Expect(budget.GetByTestId("job-budget")).ToContainTextAsync("$1.00");
        Assert.Empty(browser.ScriptErrors);
    }
}

/// <summary>The dashboard with the simulated provider priced (1,000 USD per million output tokens, at most 80 reserved per item: 0.08 each).</summary>
public sealed class PricedDashboardServer : DashboardServer
{
    protected override void ConfigureMore(IWebHostBuilder builder)
    {
        builder.UseSetting("Prices:0:Provider", "simulated");
        builder.UseSetting("Prices:0:Model", "*");
        builder.UseSetting("Prices:0:InputPerMillion", "0");
        builder.UseSetting("Prices:0:OutputPerMillion", "1000");
        builder.UseSetting("Prices:0:EffectiveFrom", "2026-11-23");
        builder.UseSetting("Budgets:DefaultOutputTokens", "80");
    }
}

public sealed class PricedDashboardFixture() : DashboardFixture(new PricedDashboardServer());
