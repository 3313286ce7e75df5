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
    public async Task Should_stream_the_answer_and_render_it_as_formatted_text()
    {
        await using var browser = await dashboard.OpenAsync("#/assistant");
        var page = browser.Page;

        await page.FillAsync("#assistant-prompt", "How many llm jobs and scan sessions were there this week?");
        var asked = await page.RunAndWaitForRequestAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = "Ask" }).ClickAsync(),
            request => request.Url.EndsWith("/ai/ask", StringComparison.Ordinal));

        Assert.Equal("text/event-stream", asked.Headers["accept"]);
        // The simulated model answers one bullet per tool: a list, not a wall of text.
        var items = page.GetByTestId("assistant-text").Locator("ul > li");
        await Expect(items).ToHaveCountAsync(2);
        await Expect(items.First).ToContainTextAsync("LLM jobs");
        await Expect(page.GetByTestId("assistant-text").Locator("p").First).ToContainTextAsync("[simulated assistant");
        await Expect(page.GetByTestId("tool-call").Locator("summary code")).ToContainTextAsync(["count_llm_jobs", "count_scan_sessions"]);
        await Expect(page.GetByTestId("assistant-status")).ToContainTextAsync("2 rounds");
        await ChromiumBrowser.ScreenshotAsync(page, "assistant-streamed-answer");
        Assert.Empty(browser.ScriptErrors);
        Assert.Empty(dashboard.ForeignRequests);
    }

    [Fact]
    public async Task Should_render_tables_lists_and_figures_and_show_html_in_an_answer_as_text()
    {
        await using var browser = await dashboard.OpenAsync("#/assistant");
        var page = browser.Page;

        var html = await page.EvaluateAsync<string>("""
            async () => {
              const { renderMarkdown } = await import('/js/markdown.js');
              window.__pwned = false;
              const answer = renderMarkdown([
                '## Jobs <script>window.__pwned = true</script>',
                '',
                '| status | jobs |',
                '|---|---:|',
                '| failed | 1,234 |',
                '| <img src=x onerror="window.__pwned = true"> | 5 |',
                '',
                '- **2** failed',
                '- see `count_llm_jobs`',
                '',
                '1. first',
                '2. second',
              ].join('\n'));
              document.body.append(answer);
              return answer.innerHTML;
            }
            """);

        Assert.Contains("<h4>Jobs &lt;script&gt;window.__pwned = true&lt;/script&gt;</h4>", html, StringComparison.Ordinal);
        Assert.Contains("<th>status</th><th>jobs</th>", html, StringComparison.Ordinal);
        Assert.Contains("<td>failed</td><td class=\"num\">1,234</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td>&lt;img src=x onerror=\"window.__pwned = true\"&gt;</td>", html, StringComparison.Ordinal);
        Assert.Contains("<ul><li><strong>2</strong> failed</li><li>see <code>count_llm_jobs</code></li></ul>", html, StringComparison.Ordinal);
        Assert.Contains("<ol><li>first</li><li>second</li></ol>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
        Assert.False(await page.EvaluateAsync<bool>("() => window.__pwned"));
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
