using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Browser.Tests.Infrastructure;
using Sagas.Modules.Usage;
using Sagas.Persistence;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

/// <summary>
/// The usage page over 20,000 recorded model calls of the last 60 days (three workflows, five projects, four models):
/// totals per day, project, model and workflow come back fast, filters are part of the link, and the run pages show
/// their own totals.
/// </summary>
[Collection(UsageDashboardCollection.Name)]
public sealed class When_the_usage_page_opens(UsageDashboardFixture dashboard)
{
    [Fact]
    public async Task Should_total_twenty_thousand_calls_per_day_project_and_model()
    {
        using (var client = new HttpClient { BaseAddress = dashboard.BaseAddress })
        {
            foreach (var groupBy in new[] { "day", "project", "model", "workflow" })
            {
                using var answer = await client.GetAsync($"api/usage?groupBy={groupBy}");
                Assert.True(answer.IsSuccessStatusCode, $"groupBy={groupBy}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
            }
        }

        await using var browser = await dashboard.OpenAsync("#/usage");
        var page = browser.Page;

        // The default range is the last 30 days, today included: one row a day.
        // A condition with room for a loaded machine: how fast the totals come is a benchmark's business, not a spec's.
        await Expect(page.GetByTestId("usage-by-day-table").Locator("tbody tr")).ToHaveCountAsync(30, new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("usage-by-project-table").Locator("tbody tr")).ToHaveCountAsync(UsageDashboardServer.Projects.Length + 1);
        await Expect(page.GetByTestId("usage-by-model-table").Locator("tbody tr")).ToHaveCountAsync(UsageDashboardServer.Models.Length);
        await Expect(page.GetByTestId("usage-total-calls")).ToHaveTextAsync(UsageDashboardServer.CallsInLast30Days.ToString("N0", System.Globalization.CultureInfo.GetCultureInfo("en-US")));
        await ChromiumBrowser.ScreenshotAsync(page, "usage");

        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task Should_keep_the_filters_in_the_link_and_narrow_to_one_workflow()
    {
        await using var browser = await dashboard.OpenAsync("#/usage");
        var page = browser.Page;
        await Expect(page.GetByTestId("usage-by-workflow-table").Locator("tbody tr")).ToHaveCountAsync(3);

        await page.GetByTestId("usage-by-workflow-table").GetByRole(Microsoft.Playwright.AriaRole.Link, new() { Name = "assistant" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("#/usage\\?workflow=assistant$"));
        await Expect(page.GetByTestId("usage-by-workflow-table").Locator("tbody tr")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("usage-by-model-table")).ToContainTextAsync("anthropic/claude-sonnet-5-5");
        await Expect(page.GetByTestId("usage-by-model-table")).Not.ToContainTextAsync("openai/gpt-6-luna");
        Assert.Empty(browser.ScriptErrors);
    }
}

/// <summary>An LLM job's page shows what its model calls cost, from the usage ledger (the simulated provider is priced at zero by default).</summary>
[Collection(DashboardCollection.Name)]
public sealed class When_a_job_page_shows_its_usage(DashboardFixture dashboard)
{
    [Fact]
    public async Task Should_show_a_jobs_tokens_and_cost_on_its_page()
    {
        using var client = new HttpClient { BaseAddress = dashboard.BaseAddress };
        using var submitted = await client.PostAsJsonAsync("api/llm-jobs", new
        {
            kind = "flagging",
            items = new[] { new { entityType = "post", entityId = "usage-1", input = "hello" } },
        });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        await using var browser = await dashboard.OpenAsync($"#/jobs/{id}");
        var page = browser.Page;

        // Once its item is done, the job's tokens come from the ledger; the simulated provider costs nothing by default.
        await Expect(page.Locator("dl.facts")).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"Tokens in / cached / out[1-9][\d,]* / 0 / [1-9]"), new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("job-cost")).ToHaveTextAsync("$0.0000");
        Assert.Empty(browser.ScriptErrors);
    }
}

public sealed class UsageDashboardServer : DashboardServer
{
    public static readonly Guid[] Projects = [.. Enumerable.Range(1, 5).Select(i => new Guid($"00000000-0000-0000-0000-00000000000{i}"))];

    public static readonly (string Workflow, string Provider, string Model)[] Models =
    [
        ("llm-jobs", "openai", "gpt-6-luna"),
        ("prompt-analyses", "openai", "gpt-6-sol"),
        ("prompt-analyses", "gemini", "gemini-3.8-flash"),
        ("assistant", "anthropic", "claude-sonnet-5-5"),
    ];

    public const int Rows = 20_000;

    /// <summary>Rows are spread evenly over 60 days (today and the 59 before); the first 30 of those days are the default range.</summary>
    public static int CallsInLast30Days => Enumerable.Range(0, Rows).Count(i => i % 60 < 30);

    protected override void ConfigureMore(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
    {
        builder.UseSetting("Prices:0:Provider", "simulated");
        builder.UseSetting("Prices:0:Model", "*");
        builder.UseSetting("Prices:0:InputPerMillion", "2");
        builder.UseSetting("Prices:0:OutputPerMillion", "10");
        builder.UseSetting("Prices:0:EffectiveFrom", "2020-01-01");
    }

    public async Task SeedAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var now = DateTimeOffset.UtcNow;
        var rows = Enumerable.Range(0, Rows).Select(i =>
        {
            var (workflow, provider, model) = Models[i % Models.Length];
            var at = now.AddDays(-(i % 60));
            var key = $"seed/{i}";
            var input = 200 + i % 1_800;
            var output = 20 + i % 300;
            return new ModelUsage
            {
                Id = ModelUsage.IdFor(key),
                IdempotencyKey = key,
                At = at,
                Day = DateOnly.FromDateTime(at.UtcDateTime),
                Workflow = workflow,
                RunId = new Guid(i / 40, 0, 0, new byte[8]),
                ItemId = (i % 40).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ProjectId = workflow == "prompt-analyses" ? Projects[i % Projects.Length] : null,
                Provider = provider,
                Model = model,
                InputTokens = input,
                OutputTokens = output,
                CachedInputTokens = i % 3 == 0 ? input / 2 : 0,
                Batch = workflow == "llm-jobs" && i % 2 == 0,
                Cost = Math.Round((input * 2m + output * 10m) / 1_000_000m, 8),
                PriceApplied = $"{provider}/{model}@2026-11-23",
            };
        });
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        foreach (var chunk in rows.Chunk(2_000))
        {
            db.AddRange(chunk);
            await db.SaveChangesAsync();
            db.ChangeTracker.Clear();
        }

        Assert.Equal(Rows, await db.Set<ModelUsage>().CountAsync());
    }
}

public sealed class UsageDashboardFixture() : DashboardFixture(new UsageDashboardServer()), IAsyncLifetime
{
    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();
        await ((UsageDashboardServer)Server).SeedAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class UsageDashboardCollection : ICollectionFixture<UsageDashboardFixture>
{
    public const string Name = "usage-dashboard";
}
