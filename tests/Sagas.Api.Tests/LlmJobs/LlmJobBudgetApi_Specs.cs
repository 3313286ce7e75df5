using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Sagas.Api.Tests.LlmJobs;

/// <summary>The embedded default (SQLite) with the simulated provider priced at 1,000 USD per million output tokens, and at most 80 reserved per item: 0.08 each.</summary>
public sealed class PricedLlmJobsApi : WebApplicationFactory<Program>
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("LlmJobs:Polling:Interval", "00:00:01");
        builder.UseSetting("LlmJobs:Polling:MinInterval", "00:00:01");
        builder.UseSetting("Scheduling:Schedules:llm-job-poll:Cron", "0/1 * * * * ?");
        builder.UseSetting("LlmJobs:Providers:Simulated:MinLatency", "00:00:00.100");
        builder.UseSetting("LlmJobs:Providers:Simulated:MaxLatency", "00:00:00.300");
        builder.UseSetting("LlmJobs:Providers:Simulated:FailureRate", "0");
        builder.UseSetting("Prices:0:Provider", "simulated");
        builder.UseSetting("Prices:0:Model", "*");
        builder.UseSetting("Prices:0:InputPerMillion", "0");
        builder.UseSetting("Prices:0:OutputPerMillion", "1000");
        builder.UseSetting("Prices:0:EffectiveFrom", "2026-11-23");
        builder.UseSetting("Budgets:DefaultOutputTokens", "80");
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

public sealed class When_an_llm_job_has_a_budget(PricedLlmJobsApi api) : IClassFixture<PricedLlmJobsApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_show_it_paused_with_the_reason_and_resume_when_the_budget_is_raised()
    {
        var id = await SubmitAsync(items: 6, budgetUsd: 0.16m);

        var paused = await WaitForAsync(id, d => d.GetProperty("job").GetProperty("status").GetString() == "paused", TimeSpan.FromSeconds(60));
        var budget = paused.GetProperty("budget");
        Assert.Equal(0.16m, budget.GetProperty("limitUsd").GetDecimal());
        Assert.True(budget.GetProperty("paused").GetBoolean());
        Assert.StartsWith("run budget of $0.16 reached:", budget.GetProperty("pausedReason").GetString());

        using var raise = await _client.PutAsJsonAsync($"/api/llm-jobs/{id}/budget", new { limitUsd = 1.00m });
        Assert.Equal(HttpStatusCode.OK, raise.StatusCode);
        var raised = await raise.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((1.00m, false), (raised.GetProperty("limitUsd").GetDecimal(), raised.GetProperty("paused").GetBoolean()));

        var done = await WaitForAsync(id, d => d.GetProperty("job").GetProperty("status").GetString() == "completed", TimeSpan.FromSeconds(60));
        Assert.Equal(6, done.GetProperty("job").GetProperty("succeededItems").GetInt32());
        Assert.Equal(6, done.GetProperty("usage").GetProperty("calls").GetInt64());
        Assert.Equal(done.GetProperty("usage").GetProperty("costUsd").GetDecimal(), done.GetProperty("budget").GetProperty("spentUsd").GetDecimal());
        Assert.Equal(0m, done.GetProperty("budget").GetProperty("reservedUsd").GetDecimal());
    }

    [Theory]
    [InlineData("{\"limitUsd\":0}", "a budget must be above zero")]
    [InlineData("{\"limitUsd\":-2.5}", "a budget must be above zero")]
    [InlineData("{\"limitUsd\":\"lots\"}", "must be a number of USD above zero")]
    [InlineData("{\"limitUsd\":null}", "limitUsd is required")]
    [InlineData("{}", "limitUsd is required")]
    [InlineData("{\"limitUsd\":2000000}", "at most")]
    public async Task Should_refuse_a_bad_limit_and_change_nothing(string body, string message)
    {
        var id = await SubmitAsync(items: 1, budgetUsd: 0.50m);

        using var response = await _client.PutAsync($"/api/llm-jobs/{id}/budget", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(message, problem.GetProperty("errors").GetProperty("limitUsd")[0].GetString());
        var detail = await WaitForAsync(id, d => d.TryGetProperty("budget", out var b) && b.ValueKind == JsonValueKind.Object, TimeSpan.FromSeconds(30));
        Assert.Equal(0.50m, detail.GetProperty("budget").GetProperty("limitUsd").GetDecimal());
    }

    [Fact]
    public async Task Should_answer_404_for_an_unknown_job_and_409_for_a_finished_one()
    {
        using var unknown = await _client.PutAsJsonAsync($"/api/llm-jobs/{Guid.NewGuid()}/budget", new { limitUsd = 1m });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        var id = await SubmitAsync(items: 1, budgetUsd: 1m);
        await WaitForAsync(id, d => d.GetProperty("job").GetProperty("status").GetString() == "completed", TimeSpan.FromSeconds(60));
        using var finished = await _client.PutAsJsonAsync($"/api/llm-jobs/{id}/budget", new { limitUsd = 2m });
        Assert.Equal(HttpStatusCode.Conflict, finished.StatusCode);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("\"ten\"")]
    public async Task Should_refuse_a_job_submitted_with_a_bad_budget(string budget)
    {
        var body = $"{{\"kind\":\"flagging\",\"budgetUsd\":{budget},\"items\":[{{\"entityType\":\"post\",\"entityId\":\"1\",\"input\":\"x\"}}]}}";

        using var response = await _client.PostAsync("/api/llm-jobs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("budgetUsd", out _));
    }

    private async Task<Guid> SubmitAsync(int items, decimal budgetUsd)
    {
        using var response = await _client.PostAsJsonAsync("/api/llm-jobs", new
        {
            kind = "flagging",
            budgetUsd,
            items = Enumerable.Range(1, items).Select(i => new { id = $"item-{i}", entityType = "post", entityId = $"p{i}", input = $"text {i}" }),
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private async Task<JsonElement> WaitForAsync(Guid id, Func<JsonElement, bool> condition, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            using var response = await _client.GetAsync(new Uri($"/api/llm-jobs/{id}", UriKind.Relative), deadline.Token);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var detail = await response.Content.ReadFromJsonAsync<JsonElement>(deadline.Token);
                if (condition(detail))
                    return detail;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
        }
    }
}
