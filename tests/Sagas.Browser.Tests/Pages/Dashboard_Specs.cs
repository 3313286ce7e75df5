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
