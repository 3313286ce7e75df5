using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

[Collection(DashboardCollection.Name)]
public sealed class When_the_assistant_is_asked_from_the_dashboard(DashboardFixture dashboard)
{
    [Fact]
    public async Task Should_show_the_answer_and_the_tools_it_called()
    {
        await using var browser = await dashboard.OpenAsync("#/assistant");
        var page = browser.Page;

        await page.FillAsync("#assistant-prompt", "How many llm jobs and scan sessions were there this week?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Ask" }).ClickAsync();

        await Expect(page.GetByTestId("assistant-text")).Not.ToBeEmptyAsync();
        var calls = page.GetByTestId("tool-call");
        await Expect(calls.Locator("summary code")).ToContainTextAsync(["count_llm_jobs", "count_scan_sessions"]);
        await ChromiumBrowser.ScreenshotAsync(page, "assistant-answer");
        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task Should_show_the_problem_for_an_empty_question()
    {
        await using var browser = await dashboard.OpenAsync("#/assistant");
        var page = browser.Page;

        await page.FillAsync("#assistant-prompt", " ");
        await page.GetByRole(AriaRole.Button, new() { Name = "Ask" }).ClickAsync();

        await Expect(page.GetByTestId("assistant-answer").GetByTestId("problem")).ToContainTextAsync("400");
    }
}
