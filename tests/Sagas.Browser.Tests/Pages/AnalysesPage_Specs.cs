using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

[Collection(DashboardCollection.Name)]
public sealed class When_a_prompt_is_analysed_from_the_dashboard(DashboardFixture dashboard)
{
    [Fact]
    public async Task Should_create_project_and_prompt_run_it_and_show_each_platform_answer_with_cost()
    {
        var project = "Acme " + Guid.NewGuid().ToString("N")[..6];
        await using var browser = await dashboard.OpenAsync("#/analyses");
        var page = browser.Page;

        await page.FillAsync("#project-form input[name=name]", project);
        await page.FillAsync("#project-form input[name=brands]", "Acme, AcmeCorp");
        await page.FillAsync("#project-form input[name=domains]", "acme.example");
        await page.ClickAsync("#project-form button[type=submit]");
        await Expect(page.GetByTestId("projects-table")).ToContainTextAsync(project);

        await page.SelectOptionAsync("#prompt-form select[name=projectId]", new SelectOptionValue { Label = project });
        await page.FillAsync("#prompt-form textarea[name=text]", $"Which tools does {project} make?");
        await page.ClickAsync("#prompt-form button[type=submit]");
        var promptRow = page.GetByTestId("prompts-table").Locator("tbody tr", new() { HasText = project });
        await Expect(promptRow).ToContainTextAsync("openai, claude, gemini, perplexity");

        await promptRow.GetByRole(AriaRole.Button, new() { Name = "Run now" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("#/analyses/runs/[0-9a-f-]{36}$"));

        var run = page.GetByTestId("run");
        await Expect(run.Locator(".toolbar .badge").First).ToHaveTextAsync("finished", new() { Timeout = 90_000 });
        var analysis = run.GetByTestId("analysis");
        await Expect(analysis).ToHaveCountAsync(1);
        await Expect(analysis.Locator("details.response")).ToHaveCountAsync(4);
        foreach (var platform in new[] { "openai", "claude", "gemini", "perplexity" })
            await Expect(analysis.Locator("details.response summary", new() { HasText = platform }).Locator(".badge")).ToHaveTextAsync("success");
        await Expect(page.GetByTestId("run-cost")).ToHaveTextAsync(new Regex(@"^\$\d+\.\d{4}$"));
        await ChromiumBrowser.ScreenshotAsync(page, "analyses-run");
        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task Should_show_the_validation_problem_for_an_empty_project_name()
    {
        await using var browser = await dashboard.OpenAsync("#/analyses");
        var page = browser.Page;

        await page.FillAsync("#project-form input[name=name]", "   ");
        await page.ClickAsync("#project-form button[type=submit]");

        await Expect(page.Locator("#project-form").GetByTestId("problem")).ToContainTextAsync("400");
    }
}
