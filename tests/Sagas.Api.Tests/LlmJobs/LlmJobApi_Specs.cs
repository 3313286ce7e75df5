using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Sagas.Api.Tests.LlmJobs;

/// <summary>The embedded default with fast polling and a simulated provider that answers within a second.</summary>
public sealed class FastLlmJobsApi : WebApplicationFactory<Program>
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
        builder.UseSetting("LlmJobs:Providers:Simulated:MaxLatency", "00:00:00.500");
        builder.UseSetting("LlmJobs:Providers:Simulated:FailureRate", "0");
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

public sealed class When_an_llm_job_is_submitted_through_the_api(FastLlmJobsApi api) : IClassFixture<FastLlmJobsApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_accept_it_and_run_it_to_completion_with_exact_aggregates()
    {
        using var response = await _client.PostAsJsonAsync("/api/llm-jobs", new
        {
            kind = "flagging",
            priority = "high",
            items = Enumerable.Range(1, 12).Select(i => new { id = $"item-{i}", entityType = "post", entityId = $"p{i}", input = $"text {i}" }),
        });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal($"/api/llm-jobs/{id}", response.Headers.Location?.OriginalString);

        var job = await WaitForAsync(id, j => j.GetProperty("status").GetString() is "completed" or "failed", TimeSpan.FromSeconds(60));
        Assert.Equal("completed", job.GetProperty("status").GetString());
        Assert.Equal(12, job.GetProperty("processedItems").GetInt32());
        Assert.Equal(12, job.GetProperty("succeededItems").GetInt32());
        Assert.Equal(0, job.GetProperty("failedItems").GetInt32());
        Assert.True(job.GetProperty("simulated").GetBoolean());

        var detail = await _client.GetFromJsonAsync<JsonElement>($"/api/llm-jobs/{id}?itemsPageSize=5&itemsPage=3");
        var items = detail.GetProperty("items");
        Assert.Equal(12, items.GetProperty("total").GetInt32());
        Assert.Equal(2, items.GetProperty("items").GetArrayLength());
        Assert.Equal("item-11", items.GetProperty("items")[0].GetProperty("id").GetString());
        Assert.Equal("succeeded", items.GetProperty("items")[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task Should_list_it_filtered_by_status()
    {
        using var response = await _client.PostAsJsonAsync("/api/llm-jobs", new { kind = "flagging", items = new[] { new { entityType = "post", entityId = "1", input = "x" } } });
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await WaitForAsync(id, j => j.GetProperty("status").GetString() == "completed", TimeSpan.FromSeconds(60));

        var page = await _client.GetFromJsonAsync<JsonElement>("/api/llm-jobs?status=completed&pageSize=500");

        Assert.Contains(page.GetProperty("items").EnumerateArray(), j => j.GetProperty("id").GetGuid() == id);
        Assert.All(page.GetProperty("items").EnumerateArray(), j => Assert.Equal("completed", j.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task Should_refuse_to_cancel_a_finished_job()
    {
        using var response = await _client.PostAsJsonAsync("/api/llm-jobs", new { kind = "flagging", items = new[] { new { entityType = "post", entityId = "1", input = "x" } } });
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await WaitForAsync(id, j => j.GetProperty("status").GetString() == "completed", TimeSpan.FromSeconds(60));

        using var cancel = await _client.PostAsJsonAsync($"/api/llm-jobs/{id}/cancel", new { reason = "late" });

        Assert.Equal(HttpStatusCode.Conflict, cancel.StatusCode);
        Assert.Equal("application/problem+json", cancel.Content.Headers.ContentType?.MediaType);
    }

    private async Task<JsonElement> WaitForAsync(Guid id, Func<JsonElement, bool> condition, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            using var response = await _client.GetAsync(new Uri($"/api/llm-jobs/{id}", UriKind.Relative), deadline.Token);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var job = (await response.Content.ReadFromJsonAsync<JsonElement>(deadline.Token)).GetProperty("job");
                if (condition(job))
                    return job;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
        }
    }
}

public sealed class When_an_llm_job_request_is_wrong(FastLlmJobsApi api) : IClassFixture<FastLlmJobsApi>
{
    private readonly HttpClient _client = api.CreateClient();

    public static TheoryData<string, string> InvalidBodies => new()
    {
        { """{"kind":"flagging","items":[]}""", "items" },
        { """{"kind":"flagging"}""", "items" },
        { """{"kind":"poetry","items":[{"entityType":"post","entityId":"1","input":"x"}]}""", "kind" },
        { """{"kind":"flagging","model":"gpt-0","items":[{"entityType":"post","entityId":"1","input":"x"}]}""", "model" },
        { """{"kind":"flagging","priority":"urgent","items":[{"entityType":"post","entityId":"1","input":"x"}]}""", "priority" },
        { """{"kind":"flagging","mode":"stream","items":[{"entityType":"post","entityId":"1","input":"x"}]}""", "mode" },
        { """{"kind":"flagging","items":[{"id":"a","entityType":"post","entityId":"1","input":"x"},{"id":"a","entityType":"post","entityId":"2","input":"y"}]}""", "items[1].id" },
        { """{"kind":"flagging","items":[{"entityType":"post","entityId":"1","input":""}]}""", "items[0].input" },
        { """{"kind":"flagging","items":[{"entityType":"","entityId":"1","input":"x"}]}""", "items[0].entityType" },
        { """{"kind":"flagging","expiresAt":"2001-01-01T00:00:00Z","items":[{"entityType":"post","entityId":"1","input":"x"}]}""", "expiresAt" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Should_answer_400_naming_the_field(string body, string field)
    {
        using var response = await _client.PostAsync(new Uri("/api/llm-jobs", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors should name '{field}': {problem}");
    }

    [Fact]
    public async Task Should_answer_400_for_an_input_longer_than_the_provider_accepts()
    {
        var input = new string('x', 100_001);
        using var response = await _client.PostAsJsonAsync("/api/llm-jobs", new { kind = "flagging", items = new[] { new { entityType = "post", entityId = "1", input } } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("items[0].input", out _));
    }

    [Theory]
    [InlineData("{\"kind\":\"flagging\",\"items\":[")]
    [InlineData("{\"kind\":\"flagging\",\"items\":\"many\"}")]
    [InlineData("{\"kind\":42,\"items\":[]}")]
    [InlineData("not json at all")]
    public async Task Should_answer_400_for_malformed_json_or_wrong_types(string body)
    {
        using var response = await _client.PostAsync(new Uri("/api/llm-jobs", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Should_answer_404_for_an_unknown_job()
    {
        using var get = await _client.GetAsync(new Uri($"/api/llm-jobs/{Guid.NewGuid()}", UriKind.Relative));
        using var cancel = await _client.PostAsync(new Uri($"/api/llm-jobs/{Guid.NewGuid()}/cancel", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal("application/problem+json", get.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
    }

    [Fact]
    public async Task Should_answer_400_for_a_bad_page()
    {
        using var response = await _client.GetAsync(new Uri("/api/llm-jobs?page=0&pageSize=100000", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("page", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("pageSize", out _));
    }
}
