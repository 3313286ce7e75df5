using Microsoft.AspNetCore.Hosting;
using Sagas.Api.Security;
using Sagas.Browser.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

public sealed class When_the_api_requires_a_key(KeyedDashboardFixture dashboard) : IClassFixture<KeyedDashboardFixture>
{
    [Fact]
    public async Task Should_serve_the_page_anonymously_ask_for_the_key_and_then_load_the_data()
    {
        await using var browser = await dashboard.OpenAsync("#/jobs");
        var page = browser.Page;

        var dialog = page.Locator("#key-dialog");
        await Expect(dialog).ToBeVisibleAsync();
        await Expect(page.GetByTestId("jobs-list").GetByTestId("problem")).ToContainTextAsync("401");

        await page.FillAsync("#key-input", KeyedDashboardServer.Key);
        await page.ClickAsync("#key-save");

        await Expect(page.GetByTestId("jobs-table-empty")).ToHaveTextAsync("No jobs match.");
        await Expect(page.GetByTestId("key-state")).ToHaveTextAsync("API key set for this tab");
        Assert.Equal(KeyedDashboardServer.Key, await page.EvaluateAsync<string>("() => sessionStorage.getItem('sagas.apiKey')"));
        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task Should_refuse_a_wrong_key_with_the_problem_shown()
    {
        await using var browser = await dashboard.OpenAsync("#/jobs");
        var page = browser.Page;

        await page.FillAsync("#key-input", "not-the-key");
        await page.ClickAsync("#key-save");

        await Expect(page.GetByTestId("jobs-list").GetByTestId("problem")).ToContainTextAsync("401");
        await Expect(page.GetByTestId("jobs-table")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Should_show_the_live_banner_while_the_socket_is_refused_and_reconnect_once_the_key_is_given()
    {
        await using var browser = await dashboard.OpenAsync("#/scan");
        var page = browser.Page;

        var banner = page.Locator("#live-banner");
        await Expect(banner).ToBeVisibleAsync();
        await Expect(banner).ToContainTextAsync("Live updates are unavailable");
        await ChromiumBrowser.ScreenshotAsync(page, "live-banner");

        // The Scan page lists the scans on load: its 401 opens the key dialog by itself.
        await Expect(page.Locator("#key-dialog")).ToBeVisibleAsync();
        await page.FillAsync("#key-input", KeyedDashboardServer.Key);
        await page.ClickAsync("#key-save");

        await Expect(banner).ToBeHiddenAsync();
    }
}

public sealed class KeyedDashboardServer : DashboardServer
{
    public const string Key = "browser-test-key-7c41";

    protected override string EnvironmentName => "Production";

    protected override void ConfigureMore(IWebHostBuilder builder)
    {
        builder.UseSetting("Security:ApiKeys:0:Name", "browser-test");
        builder.UseSetting("Security:ApiKeys:0:Sha256", ApiKeyHash.Compute(Key));
    }
}

public sealed class KeyedDashboardFixture() : DashboardFixture(new KeyedDashboardServer());
