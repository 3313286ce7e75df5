using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Api.Tests.Races;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.LlmJobs.Data;
using Sagas.Modules.Runs;
using Sagas.Persistence;

namespace Sagas.Api.Tests.Runs;

/// <summary>
/// The embedded default (SQLite, in-memory bus) whose simulated provider takes ten minutes a task, so a job submitted
/// stays running until something cancels it.
/// </summary>
public sealed class BulkCancelApi : WebApplicationFactory<Program>
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-bulk-specs-" + Guid.NewGuid().ToString("N"));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("Storage:Local:Root", Path.Combine(_dataDirectory, "blobs"));
        builder.UseSetting("LlmJobs:Providers:Simulated:MinLatency", "00:10:00");
        builder.UseSetting("LlmJobs:Providers:Simulated:MaxLatency", "00:10:00");
        builder.UseSetting("Api:BulkOperations:PollInterval", "00:00:00.200");
        builder.UseSetting("Api:MutationsPerMinute", "10000");
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

/// <summary><c>POST /api/runs/cancel</c> and <c>GET /api/runs/bulk-operations/{id}</c>: preview, confirmation, idempotency, bad input.</summary>
public sealed class When_runs_are_cancelled_in_bulk(BulkCancelApi api) : IClassFixture<BulkCancelApi>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_preview_then_cancel_the_listed_runs_once_even_when_the_call_is_repeated()
    {
        var ids = new[] { await SubmitAsync(), await SubmitAsync(), await SubmitAsync() };
        await WaitForStatusAsync(ids, status => status is "queued" or "running");

        var preview = await PostAsync(new { ids, dryRun = true }, HttpStatusCode.OK);
        Assert.Equal(3, preview.GetProperty("count").GetInt32());
        Assert.Equal(3, preview.GetProperty("byWorkflow").GetProperty("llm-jobs").GetInt32());
        Assert.Equal(0, await OperationCountAsync());

        var operationId = Guid.NewGuid();
        using var accepted = await _client.PostAsJsonAsync("/api/runs/cancel", new { ids, confirm = true, operationId, reason = "bulk spec" });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal($"/api/runs/bulk-operations/{operationId}", accepted.Headers.Location?.ToString());
        var started = await accepted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, started.GetProperty("total").GetInt32());
        Assert.Equal("local-developer", started.GetProperty("requestedBy").GetString());

        // The same call again (a retry after a lost answer) answers the same operation and starts nothing new.
        var again = await PostAsync(new { ids, confirm = true, operationId, reason = "bulk spec" }, HttpStatusCode.OK);
        Assert.Equal(operationId, again.GetProperty("operationId").GetGuid());
        Assert.Equal(1, await OperationCountAsync());

        var done = await Eventually.MatchAsync(() => GetOperationAsync(operationId), o => o.GetProperty("status").GetString() == "completed", Patience, o => o.ToString());
        Assert.Equal(3, done.GetProperty("done").GetInt32());
        Assert.Equal(3, done.GetProperty("total").GetInt32());
        Assert.NotEqual(JsonValueKind.Null, done.GetProperty("finishedAt").ValueKind);
        await WaitForStatusAsync(ids, status => status == "cancelled");
    }

    [Fact]
    public async Task Should_cancel_every_run_matching_a_filter_and_no_other()
    {
        var before = await SubmitAsync();
        await WaitForStatusAsync([before], status => status is "queued" or "running");
        var ids = new[] { await SubmitAsync(), await SubmitAsync() };
        await WaitForStatusAsync(ids, status => status is "queued" or "running");
        // From the first of the two: the job submitted before them is running too, and must be left alone.
        var filter = new { workflow = "llm-jobs", from = (await CreatedAtAsync(ids[0])).ToString("O") };

        var preview = await PostAsync(new { filter, dryRun = true }, HttpStatusCode.OK);
        Assert.Equal(2, preview.GetProperty("count").GetInt32());

        var operationId = Guid.NewGuid();
        await PostAsync(new { filter, confirm = true, operationId }, HttpStatusCode.Accepted);
        var done = await Eventually.MatchAsync(() => GetOperationAsync(operationId), o => o.GetProperty("status").GetString() == "completed", Patience, o => o.ToString());
        Assert.Equal(2, done.GetProperty("done").GetInt32());
        Assert.Equal("llm-jobs", done.GetProperty("filter").GetProperty("filter").GetProperty("workflow").GetString());
        await WaitForStatusAsync(ids, status => status == "cancelled");
        Assert.Contains(await StatusAsync(before), new[] { "queued", "running" });
    }

    [Fact]
    public async Task Should_start_nothing_for_a_filter_matching_nothing()
    {
        var operationId = Guid.NewGuid();
        var answer = await PostAsync(new { filter = new { text = "no-run-has-this-text" }, confirm = true, operationId }, HttpStatusCode.OK);

        Assert.Equal(0, answer.GetProperty("count").GetInt32());
        using var read = await _client.GetAsync(new Uri($"/api/runs/bulk-operations/{operationId}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    public static TheoryData<string, string> BadRequests => new()
    {
        { """{"filter":{"workflow":"no-such-workflow"},"dryRun":true}""", "workflow" },
        { """{"filter":{"workflow":"llm-jobs","status":"bogus"},"dryRun":true}""", "status" },
        { """{"filter":{"project":"not-a-guid"},"dryRun":true}""", "project" },
        { """{"dryRun":true}""", "filter" },
        { """{"ids":[],"dryRun":true}""", "ids" },
        { """{"ids":["2f1b6f38-5a0e-4a53-9d2b-7c0e9d6b5a11"],"filter":{},"dryRun":true}""", "ids" },
        { """{"filter":{"workflow":"llm-jobs"},"operationId":"2f1b6f38-5a0e-4a53-9d2b-7c0e9d6b5a11"}""", "confirm" },
        { """{"filter":{"workflow":"llm-jobs"},"confirm":true}""", "operationId" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Should_refuse_bad_input_naming_the_field(string body, string key)
    {
        using var response = await _client.PostAsync(new Uri("/api/runs/cancel", UriKind.Relative), new StringContent(body, global::System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(key, out _), $"errors name {key}: {problem}");
    }

    [Fact]
    public async Task Should_refuse_more_ids_than_the_limit()
    {
        var ids = Enumerable.Range(0, 1001).Select(_ => Guid.NewGuid()).ToArray();
        using var response = await _client.PostAsJsonAsync("/api/runs/cancel", new { ids, dryRun = true });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("At most 1,000 ids", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_answer_400_for_an_operation_id_that_is_no_guid_and_404_for_an_unknown_one()
    {
        using var bad = await _client.GetAsync(new Uri("/api/runs/bulk-operations/not-a-guid", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var unknown = await _client.GetAsync(new Uri($"/api/runs/bulk-operations/{Guid.NewGuid()}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Should_list_the_workflows_and_their_statuses_and_link_each_run_to_its_page()
    {
        var workflows = await _client.GetFromJsonAsync<JsonElement>("/api/runs/workflows");
        Assert.Equal(["llm-jobs", "scan-sessions", "prompt-analyses"], workflows.EnumerateArray().Select(w => w.GetProperty("name").GetString()));
        Assert.Contains("cancelled", workflows[0].GetProperty("statuses").EnumerateArray().Select(s => s.GetString()));

        var id = await SubmitAsync();
        await WaitForStatusAsync([id], status => status is "queued" or "running");
        var page = await _client.GetFromJsonAsync<JsonElement>($"/api/runs?text={id}");
        Assert.Equal($"#/jobs/{id}", page.GetProperty("items")[0].GetProperty("link").GetString());
    }

    private async Task<JsonElement> PostAsync(object body, HttpStatusCode expected)
    {
        using var response = await _client.PostAsJsonAsync("/api/runs/cancel", body);
        var content = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode}: {content}");
        return content;
    }

    private async Task<JsonElement> GetOperationAsync(Guid id) =>
        await _client.GetFromJsonAsync<JsonElement>($"/api/runs/bulk-operations/{id}");

    private async Task<int> OperationCountAsync()
    {
        await using var scope = api.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<SagasDbContext>().Set<BulkOperation>().CountAsync();
    }

    private async Task<DateTimeOffset> CreatedAtAsync(Guid id)
    {
        await using var scope = api.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<SagasDbContext>().Set<LlmJob>().Where(j => j.Id == id).Select(j => j.CreatedAt).SingleAsync();
    }

    private async Task<Guid> SubmitAsync()
    {
        using var response = await _client.PostAsJsonAsync("/api/llm-jobs", new
        {
            kind = "flagging",
            mode = "batch",
            items = new[] { new { id = "1", entityType = "post", entityId = "1", input = "hello" } },
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private async Task<string?> StatusAsync(Guid id)
    {
        using var response = await _client.GetAsync(new Uri($"/api/llm-jobs/{id}", UriKind.Relative));
        return response.StatusCode == HttpStatusCode.NotFound
            ? null
            : (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("job").GetProperty("status").GetString();
    }

    private async Task WaitForStatusAsync(IReadOnlyList<Guid> ids, Func<string, bool> wanted) =>
        await Eventually.MatchAsync(
            async () => await Task.WhenAll(ids.Select(StatusAsync)),
            statuses => statuses.All(s => s is not null && wanted(s)),
            Patience,
            statuses => string.Join(", ", statuses.Select(s => s ?? "not recorded")));
}
