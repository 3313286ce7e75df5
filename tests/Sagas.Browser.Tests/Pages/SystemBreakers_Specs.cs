using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using Sagas.Modules.Breakers;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

[Collection(BreakersDashboardCollection.Name)]
public sealed class When_the_system_page_shows_the_breakers(BreakersDashboardFixture dashboard)
{
    [Fact]
    public async Task Should_show_each_breaker_and_its_transitions_and_reset_an_open_one_after_confirmation()
    {
        await using var browser = await dashboard.OpenAsync("#/system");
        var page = browser.Page;
        var breakers = page.GetByTestId("breakers-table");

        var open = breakers.Locator("tbody tr", new() { HasText = "gemini / gemini-2.5-pro" });
        await Expect(open.Locator(".badge")).ToHaveTextAsync("open");
        await Expect(open).ToContainTextAsync("2 of 3 failed");
        await Expect(open.Locator("td").Nth(5)).Not.ToHaveTextAsync("—");
        await Expect(open.Locator("td").Nth(6)).Not.ToHaveTextAsync("—");
        var closed = breakers.Locator("tbody tr", new() { HasText = "openai (every model)" });
        await Expect(closed.Locator(".badge")).ToHaveTextAsync("closed");
        await Expect(closed).ToContainTextAsync("0 of 4 failed");
        await Expect(closed.GetByRole(AriaRole.Button, new() { Name = "Reset" })).ToBeDisabledAsync();
        var transitions = page.GetByTestId("breaker-transitions-table");
        await Expect(transitions.Locator("tbody tr")).ToHaveCountAsync(1);
        await Expect(transitions.Locator("tbody tr").First).ToContainTextAsync("gemini / gemini-2.5-pro");
        await Expect(transitions.Locator("tbody tr").First).ToContainTextAsync("closed → open");
        await ChromiumBrowser.ScreenshotAsync(page.GetByTestId("breakers-card"), "system-breakers");

        // "Not now" leaves it open; confirming closes it for the cluster and lists the operator's transition.
        await open.GetByRole(AriaRole.Button, new() { Name = "Reset" }).ClickAsync();
        var dialog = page.GetByTestId("confirm-dialog");
        await Expect(dialog).ToContainTextAsync("Reset the breaker of gemini / gemini-2.5-pro?");
        await ChromiumBrowser.ScreenshotAsync(page, "system-breakers-reset-confirm");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Not now" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(open.Locator(".badge")).ToHaveTextAsync("open");

        await open.GetByRole(AriaRole.Button, new() { Name = "Reset" }).ClickAsync();
        await page.GetByTestId("confirm-dialog").GetByRole(AriaRole.Button, new() { Name = "Reset it" }).ClickAsync();
        await Expect(page.GetByTestId("breaker-result")).ToContainTextAsync("The breaker of gemini / gemini-2.5-pro is closed.");
        await Expect(open.Locator(".badge")).ToHaveTextAsync("closed");
        await Expect(open.Locator("td").Nth(6)).ToHaveTextAsync("—");
        await Expect(transitions.Locator("tbody tr")).ToHaveCountAsync(2);
        await Expect(transitions.Locator("tbody tr").First).ToContainTextAsync("open → closed");
        Assert.Equal(BreakerState.Closed, dashboard.Server.Services.GetRequiredService<ProviderBreakers>().For("gemini", "gemini-2.5-pro").State);
        Assert.Empty(browser.ScriptErrors);
    }
}

[Collection(BreakersOffDashboardCollection.Name)]
public sealed class When_the_system_page_shows_breakers_that_are_off(BreakersOffDashboardFixture dashboard)
{
    [Fact]
    public async Task Should_say_the_breakers_are_off()
    {
        await using var browser = await dashboard.OpenAsync("#/system");
        var page = browser.Page;

        await Expect(page.GetByTestId("breakers-off")).ToContainTextAsync("Breakers are off");
        await Expect(page.GetByTestId("breakers-table")).ToHaveCountAsync(0);
        Assert.Empty(browser.ScriptErrors);
    }
}

/// <summary>The embedded default with its breakers set by <paramref name="enabled"/>; no break ends during a spec.</summary>
public class BreakersDashboardServer(bool enabled) : DashboardServer
{
    protected override void ConfigureMore(IWebHostBuilder builder)
    {
        builder.UseSetting("Breakers:Enabled", enabled ? "true" : "false");
        builder.UseSetting("Breakers:ReportInterval", "00:00:00.050");
        builder.UseSetting("Breakers:Defaults:ConsecutiveFailures", "2");
        builder.UseSetting("Breakers:Defaults:FailureRatio", "0");
        builder.UseSetting("Breakers:Defaults:BreakDuration", "00:10:00");
    }

    /// <summary>Gemini's model opened by two failures after a success; OpenAI's own breaker closed after four successes.</summary>
    public async Task SeedAsync()
    {
        var breakers = Services.GetRequiredService<ProviderBreakers>();
        var gemini = breakers.For("gemini", "gemini-2.5-pro");
        gemini.Record(failed: false);
        gemini.Record(failed: true);
        gemini.Record(failed: true);
        var openAi = breakers.For("openai", null);
        for (var i = 0; i < 4; i++)
            openAi.Record(failed: false);

        using var client = new HttpClient { BaseAddress = BaseAddress };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var view = await client.GetFromJsonAsync<JsonElement>("/api/system/breakers");
            var rows = view.GetProperty("breakers").EnumerateArray().ToList();
            if (rows.Count == 2 && rows.Any(r => r.GetProperty("state").GetString() == "open"))
                return;
            Assert.True(DateTime.UtcNow < deadline, $"the seeded breakers did not show: {view}");
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }
}

public sealed class BreakersDashboardFixture() : DashboardFixture(new BreakersDashboardServer(enabled: true)), IAsyncLifetime
{
    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();
        await ((BreakersDashboardServer)Server).SeedAsync();
    }
}

public sealed class BreakersOffDashboardFixture() : DashboardFixture(new BreakersDashboardServer(enabled: false));

[CollectionDefinition(Name)]
public sealed class BreakersDashboardCollection : ICollectionFixture<BreakersDashboardFixture>
{
    public const string Name = "breakers-dashboard";
}

[CollectionDefinition(Name)]
public sealed class BreakersOffDashboardCollection : ICollectionFixture<BreakersOffDashboardFixture>
{
    public const string Name = "breakers-off-dashboard";
}
