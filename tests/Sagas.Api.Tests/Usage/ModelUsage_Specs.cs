using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Api.Tests.PromptAnalyses;
using Sagas.Modules.Usage;
using Sagas.Persistence;

namespace Sagas.Api.Tests.Usage;

/// <summary>
/// The embedded default with fast simulated LLM jobs, platforms and assistant, and one price for every simulated model:
/// USD 2 per million input tokens, 1 per million cached, 10 per million output, half price in batches.
/// </summary>
public sealed class PricedUsageApi : WebApplicationFactory<Program>
{
    public const decimal InputPerMillion = 2m;
    public const decimal OutputPerMillion = 10m;

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));

    public static decimal Cost(long input, long output, bool batch = false) =>
        Math.Round((input * InputPerMillion + output * OutputPerMillion) / 1_000_000m * (batch ? 0.5m : 1m), 8);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("LlmJobs:Polling:Interval", "00:00:01");
        builder.UseSetting("LlmJobs:Polling:MinInterval", "00:00:01");
        builder.UseSetting("Scheduling:Schedules:llm-job-poll:Cron", "0/1 * * * * ?");
        builder.UseSetting("LlmJobs:Providers:Simulated:MinLatency", "00:00:00.100");
        builder.UseSetting("LlmJobs:Providers:Simulated:MaxLatency", "00:00:00.500");
        builder.UseSetting("LlmJobs:Providers:Simulated:FailureRate", "0");
        builder.UseSetting("PromptAnalyses:Platforms:Simulated:MinLatencyMs", "5");
        builder.UseSetting("PromptAnalyses:Platforms:Simulated:MaxLatencyMs", "20");
        builder.UseSetting("PromptAnalyses:Platforms:Simulated:FailureRate", "0");
        builder.UseSetting("PromptAnalyses:Platforms:Simulated:RateLimitRate", "0");
        builder.UseSetting("Prices:0:Provider", "simulated");
        builder.UseSetting("Prices:0:Model", "*");
        builder.UseSetting("Prices:0:InputPerMillion", InputPerMillion.ToString(CultureInfo.InvariantCulture));
        builder.UseSetting("Prices:0:CachedInputPerMillion", "1");
        builder.UseSetting("Prices:0:OutputPerMillion", OutputPerMillion.ToString(CultureInfo.InvariantCulture));
        builder.UseSetting("Prices:0:BatchDiscount", "0.5");
        builder.UseSetting("Prices:0:EffectiveFrom", "2020-01-01");
    }

    public async Task<List<ModelUsage>> RowsAsync(Func<IQueryable<ModelUsage>, IQueryable<ModelUsage>> filter)
    {
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        return await filter(db.Set<ModelUsage>().AsNoTracking()).ToListAsync();
    }

    /// <summary>Polls until <paramref name="done"/> holds; the answer that made it hold.</summary>
    public static async Task<JsonElement> WaitForAsync(HttpClient client, string path, Func<JsonElement, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            if (response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                if (done(body))
                    return body;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{path} did not reach the expected state in {timeout}.");
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

/// <summary>Every model call of the workflows and the assistant leaves one priced row; the run pages show their totals.</summary>
public sealed class When_model_calls_are_made(PricedUsageApi api) : IClassFixture<PricedUsageApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Theory]
    [InlineData("background", false)]
    [InlineData("batch", true)]
    public async Task Should_record_each_llm_job_item_result_at_its_price(string mode, bool batch)
    {
        using var submitted = await _client.PostAsJsonAsync("/api/llm-jobs", new
        {
            kind = "flagging",
            mode,
            items = Enumerable.Range(1, 4).Select(i => new { id = $"{mode}-{i}", entityType = "post", entityId = $"p{i}", input = $"text {i}" }),
        });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var detail = await PricedUsageApi.WaitForAsync(_client, $"/api/llm-jobs/{id}",
            d => d.GetProperty("job").GetProperty("status").GetString() is "completed" or "failed", TimeSpan.FromSeconds(90));

        var rows = await api.RowsAsync(q => q.Where(u => u.RunId == id));
        Assert.Equal(4, rows.Count);
        Assert.All(rows, row =>
        {
            Assert.Equal("llm-jobs", row.Workflow);
            Assert.Equal("simulated", row.Provider);
            Assert.Equal(batch, row.Batch);
            Assert.True(row.InputTokens > 0 && row.OutputTokens > 0);
            Assert.Equal(PricedUsageApi.Cost(row.InputTokens, row.OutputTokens, batch), row.Cost);
        });
        var items = detail.GetProperty("items").GetProperty("items").EnumerateArray().ToDictionary(i => i.GetProperty("id").GetString()!);
        Assert.All(rows, row => Assert.Equal(items[row.ItemId!].GetProperty("inputTokens").GetInt64(), row.InputTokens));
        var usage = detail.GetProperty("usage");
        Assert.Equal(4, usage.GetProperty("calls").GetInt64());
        Assert.Equal(rows.Sum(r => r.Cost!.Value), usage.GetProperty("costUsd").GetDecimal());
        Assert.Equal(rows.Sum(r => r.InputTokens), usage.GetProperty("inputTokens").GetInt64());
    }

    [Fact]
    public async Task Should_record_each_prompt_analysis_platform_answer_with_its_project_and_the_cost_on_the_response()
    {
        var projectId = await When_projects_and_prompts_are_managed_through_the_api.CreateProjectAsync(_client);
        foreach (var text in new[] { "best anvil", "best rocket skates" })
            (await _client.PostAsJsonAsync("/api/prompts", new { projectId, text })).EnsureSuccessStatusCode();
        using var started = await _client.PostAsJsonAsync("/api/prompt-analyses/runs", new { scope = "project", projectId });
        var runId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetGuid();

        var detail = await PricedUsageApi.WaitForAsync(_client, $"/api/prompt-analyses/runs/{runId}",
            d => d.GetProperty("run").GetProperty("status").GetString() == "finished", TimeSpan.FromSeconds(120));

        var responses = detail.GetProperty("analyses").GetProperty("items").EnumerateArray()
            .SelectMany(a => a.GetProperty("responses").EnumerateArray()).ToList();
        var rows = await api.RowsAsync(q => q.Where(u => u.RunId == runId));
        Assert.NotEmpty(responses);
        Assert.Equal(responses.Count, rows.Count);
        Assert.All(rows, row =>
        {
            Assert.Equal("prompt-analyses", row.Workflow);
            Assert.Equal(projectId, row.ProjectId);
            Assert.Equal(PricedUsageApi.Cost(row.InputTokens, row.OutputTokens), row.Cost);
        });
        Assert.Equal(responses.Sum(r => r.GetProperty("cost").GetDecimal()), rows.Sum(r => r.Cost!.Value));
        Assert.Equal(rows.Sum(r => r.Cost!.Value), detail.GetProperty("usage").GetProperty("costUsd").GetDecimal());

        var byProject = await _client.GetFromJsonAsync<JsonElement>($"/api/usage?groupBy=project&project={projectId}");
        var group = Assert.Single(byProject.GetProperty("groups").EnumerateArray());
        Assert.Equal(projectId.ToString(), group.GetProperty("key").GetString());
        Assert.Equal(rows.Count, group.GetProperty("totals").GetProperty("calls").GetInt64());
    }

    [Fact]
    public async Task Should_record_every_turn_of_an_assistant_question_tool_rounds_included()
    {
        using var asked = await _client.PostAsJsonAsync("/ai/ask", new { prompt = "How many LLM jobs failed this week?" });
        Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
        var answer = await asked.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, answer.GetProperty("rounds").GetInt32());

        var questions = await PricedUsageApi.WaitForAsync(_client, "/api/assistant/questions?pageSize=1", p => p.GetProperty("total").GetInt32() > 0, TimeSpan.FromSeconds(10));
        var questionId = questions.GetProperty("items")[0].GetProperty("id").GetGuid();
        var rows = (await api.RowsAsync(q => q.Where(u => u.RunId == questionId))).OrderBy(r => r.ItemId, StringComparer.Ordinal).ToList();

        Assert.Equal(["1", "2"], rows.Select(r => r.ItemId));
        Assert.All(rows, row => Assert.Equal(("assistant", "simulated", PricedUsageApi.Cost(row.InputTokens, row.OutputTokens)), (row.Workflow, row.Provider, row.Cost)));
        var usage = answer.GetProperty("usage");
        Assert.Equal(usage.GetProperty("inputTokens").GetInt64(), rows.Sum(r => r.InputTokens));
        Assert.Equal(usage.GetProperty("costUsd").GetDecimal(), rows.Sum(r => r.Cost!.Value));
    }
}

/// <summary>The ledger is what a redelivered consumer writes through: the same call, recorded twice, is one row.</summary>
public sealed class When_the_same_model_call_is_recorded_twice(PricedUsageApi api) : IClassFixture<PricedUsageApi>
{
    [Fact]
    public async Task Should_keep_one_row_and_count_it_once()
    {
        var call = new ModelCall($"spec/{Guid.NewGuid():N}", "llm-jobs", "simulated", "simulated-flagger", 1_000, 100)
        {
            RunId = Guid.NewGuid(), ItemId = "item-1", CachedInputTokens = 400, Batch = true,
        };

        var first = await RecordAsync(call);
        var second = await RecordAsync(call with { InputTokens = 5_000 });

        Assert.Single(first);
        Assert.Empty(second);
        var row = Assert.Single(await api.RowsAsync(q => q.Where(u => u.RunId == call.RunId)));
        Assert.Equal(1_000, row.InputTokens);
        // (600 × 2 + 400 × 1 + 100 × 10) / 1e6, at half price.
        Assert.Equal(0.0013m, row.Cost);
        Assert.Equal("simulated/*@2020-01-01", row.PriceApplied);
    }

    [Fact]
    public async Task Should_store_a_call_without_a_price_with_an_empty_cost()
    {
        var call = new ModelCall($"spec/{Guid.NewGuid():N}", "assistant", "openai", "gpt-unpriced", 10, 10) { RunId = Guid.NewGuid() };

        await RecordAsync(call);

        var row = Assert.Single(await api.RowsAsync(q => q.Where(u => u.RunId == call.RunId)));
        Assert.Null(row.Cost);
        Assert.Null(row.PriceApplied);
    }

    private async Task<IReadOnlyList<ModelUsage>> RecordAsync(ModelCall call)
    {
        await using var scope = api.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var ledger = scope.ServiceProvider.GetRequiredService<UsageLedger>();
        await using var transaction = await db.Database.BeginTransactionAsync();
        var recorded = await ledger.RecordAsync([call], CancellationToken.None);
        await transaction.CommitAsync();
        ledger.Flush();
        return recorded;
    }
}

/// <summary><c>GET /api/usage</c> refuses what it cannot answer, naming the parameter.</summary>
public sealed class When_usage_totals_are_asked_for(PricedUsageApi api) : IClassFixture<PricedUsageApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Theory]
    [InlineData("groupBy=hour", "groupBy")]
    [InlineData("from=2026-12-05&to=2026-12-01", "from")]
    [InlineData("from=2025-01-01&to=2026-12-01", "to")]
    [InlineData("from=yesterday", "from")]
    [InlineData("project=acme", "project")]
    [InlineData("workflow=scanning", "workflow")]
    public async Task Should_answer_400_naming_the_bad_parameter(string query, string parameter)
    {
        using var response = await _client.GetAsync(new Uri($"/api/usage?{query}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _), problem.ToString());
    }

    [Fact]
    public async Task Should_sum_recorded_calls_per_day_workflow_and_model()
    {
        var project = Guid.NewGuid();
        var day = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        await using (var scope = api.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
            var ledger = scope.ServiceProvider.GetRequiredService<UsageLedger>();
            await ledger.RecordAsync(
            [
                new ModelCall($"sum/{project:N}/1", "prompt-analyses", "simulated", "simulated-1", 1_000_000, 0) { At = day, ProjectId = project },
                new ModelCall($"sum/{project:N}/2", "prompt-analyses", "simulated", "simulated-1", 0, 100_000) { At = day.AddDays(1), ProjectId = project },
                new ModelCall($"sum/{project:N}/3", "llm-jobs", "simulated", "simulated-flagger", 500_000, 0) { At = day.AddDays(1), ProjectId = project, Batch = true },
            ], CancellationToken.None);
            Assert.Equal(3, await db.Set<ModelUsage>().CountAsync(u => u.ProjectId == project));
        }

        var byDay = await _client.GetFromJsonAsync<JsonElement>($"/api/usage?groupBy=day&from=2026-06-01&to=2026-06-30&project={project}");
        Assert.Equal([("2026-06-02", 1.5m), ("2026-06-01", 2m)],
            byDay.GetProperty("groups").EnumerateArray().Select(g => (g.GetProperty("key").GetString(), g.GetProperty("totals").GetProperty("costUsd").GetDecimal())));
        Assert.Equal(3.5m, byDay.GetProperty("total").GetProperty("costUsd").GetDecimal());

        var byWorkflow = await _client.GetFromJsonAsync<JsonElement>($"/api/usage?groupBy=workflow&from=2026-06-01&to=2026-06-30&project={project}");
        Assert.Equal([("prompt-analyses", 3m), ("llm-jobs", 0.5m)],
            byWorkflow.GetProperty("groups").EnumerateArray().Select(g => (g.GetProperty("key").GetString(), g.GetProperty("totals").GetProperty("costUsd").GetDecimal())));

        var byModel = await _client.GetFromJsonAsync<JsonElement>($"/api/usage?groupBy=model&from=2026-06-01&to=2026-06-30&project={project}&workflow=llm-jobs");
        var model = Assert.Single(byModel.GetProperty("groups").EnumerateArray());
        Assert.Equal("simulated/simulated-flagger", model.GetProperty("key").GetString());
        Assert.Equal(500_000, model.GetProperty("totals").GetProperty("inputTokens").GetInt64());
    }
}
