using Sagas.Browser.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

[Collection(DashboardCollection.Name)]
public sealed class When_every_page_is_opened(DashboardFixture dashboard)
{
    [Theory]
    [InlineData("#/jobs", "LLM jobs", "llm-jobs-page")]
    [InlineData("#/scan", "Scan", "scan")]
    [InlineData("#/analyses", "Prompt analyses", "analyses")]
    [InlineData("#/assistant", "Assistant", "assistant")]
    [InlineData("#/system", "System", "system-page")]
    public async Task Should_render_from_the_api_alone_without_script_errors(string hash, string heading, string screenshot)
    {
        await using var browser = await dashboard.OpenAsync(hash);
        var page = browser.Page;

        await Expect(page.Locator("h1")).ToHaveTextAsync(heading);
        await Expect(page.Locator("nav a.active")).ToHaveAttributeAsync("href", hash);
        // The stylesheet is served too: the header is dark only when app.css loaded.
        var headerBackground = await page.Locator("header.top").EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor");
        Assert.Equal("rgb(24, 32, 58)", headerBackground);
        // Every card has answered (data or a problem) before the screenshot; network idleness is not a condition here,
        // as the live pages keep polling and timed out waiting for it once in CI.
        await Expect(page.GetByText("Loading…")).ToHaveCountAsync(0);
        await ChromiumBrowser.ScreenshotAsync(page, screenshot);

        Assert.Empty(browser.ScriptErrors);
        Assert.Empty(dashboard.ForeignRequests);
    }
}

[Collection(DashboardCollection.Name)]
public sealed class When_the_api_reference_link_is_followed(DashboardFixture dashboard)
{
    [Fact]
    public async Task Should_open_the_interactive_reference_in_a_new_tab()
    {
        await using var browser = await dashboard.OpenAsync("#/jobs");
        var link = browser.Page.GetByRole(Microsoft.Playwright.AriaRole.Link, new() { Name = "API reference" });

        var opened = await browser.Page.Context.RunAndWaitForPageAsync(() => link.ClickAsync());
        await opened.WaitForLoadStateAsync();

        Assert.Equal(new Uri(dashboard.BaseAddress, "docs").ToString(), opened.Url.TrimEnd('/'));
        // The reference is drawn (the API's title) from files the API serves itself: no vendor CDN, font or telemetry.
        await Expect(opened.Locator("h1").First).ToHaveTextAsync("Sagas API");
        await ChromiumBrowser.ScreenshotAsync(opened, "api-reference");
        Assert.Empty(browser.ScriptErrors);
        Assert.Empty(dashboard.ForeignRequests);
    }
}
