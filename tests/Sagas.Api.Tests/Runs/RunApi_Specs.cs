using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Api.Tests.ScanSessions;
using Sagas.LlmJobs.Data;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;

namespace Sagas.Api.Tests.Runs;

/// <summary>
/// <c>/api/runs</c> and <c>/api/runs/{workflow}/{id}/history</c> over the embedded default (SQLite, in-memory bus):
/// a real scan session's history and activity, the list's filters and cursor paging over seeded rows, and bad input.
/// </summary>
public sealed class When_runs_are_read_over_http(ScanSessionsApi api) : IClassFixture<ScanSessionsApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_show_a_scan_sessions_history_from_its_first_event_to_its_end_with_its_files_per_minute()
    {
        var id = await StartScanAsync();
        await ScanFixtures.WaitForSessionAsync(_client, id, ScanFixtures.IsFinished);

        // The saga's last event commits with the session's final status or just after it.
        var history = await WaitForHistoryAsync("scan-sessions", id, h => h.GetProperty("entries").EnumerateArray().Any(e => e.GetProperty("stateAfter").GetString() == "Completed"));

        Assert.Equal("scan-sessions", history.GetProperty("workflow").GetString());
        var entries = history.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal("Initial", entries[0].GetProperty("stateBefore").GetString());
        Assert.All(entries, e =>
        {
            Assert.Equal("event", e.GetProperty("kind").GetString());
            Assert.NotEqual(JsonValueKind.Null, e.GetProperty("messageId").ValueKind);
            Assert.False(string.IsNullOrEmpty(e.GetProperty("event").GetString()));
        });
        Assert.Equal(Enumerable.Range(1, entries.Count), entries.Select(e => e.GetProperty("sequence").GetInt32()));
        Assert.Equal(0, history.GetProperty("dropped").GetInt32());
        var activity = history.GetProperty("activity").EnumerateArray().ToList();
        Assert.All(activity, a => Assert.Equal("files recorded", a.GetProperty("activity").GetString()));
        Assert.Equal(4, activity.Sum(a => a.GetProperty("count").GetInt32()));
    }

    [Fact]
    public async Task Should_find_a_run_by_workflow_status_file_name_and_id_and_nothing_for_a_filter_matching_nothing()
    {
        var id = await StartScanAsync();
        await ScanFixtures.WaitForSessionAsync(_client, id, ScanFixtures.IsFinished);

        Assert.Contains(id, await ListIdsAsync("?workflow=scan-sessions"));
        Assert.Contains(id, await ListIdsAsync("?workflow=scan-sessions&status=completed"));
        Assert.Contains(id, await ListIdsAsync("?text=FILE-002.TXT"));
        Assert.Equal([id], await ListIdsAsync($"?text={id}"));
        Assert.DoesNotContain(id, await ListIdsAsync("?workflow=llm-jobs"));

        var nothing = await _client.GetFromJsonAsync<JsonElement>("/api/runs?text=no-run-has-this-text");
        Assert.Equal(0, nothing.GetProperty("items").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, nothing.GetProperty("next").ValueKind);
    }

    [Fact]
    public async Task Should_page_across_workflows_newest_first_without_repeating_or_skipping_a_run()
    {
        // Ten runs of two workflows, five created in the same instant: the cursor must tell them apart by id.
        var at = new DateTimeOffset(2020, 3, 1, 10, 0, 0, TimeSpan.Zero);
        var seeded = new List<(Guid Id, DateTimeOffset CreatedAt)>();
        await using (var scope = api.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
            for (var i = 0; i < 5; i++)
            {
                var session = new ScanSession { Id = Guid.NewGuid(), Status = ScanSessionStatus.Completed, SourceDescription = $"seeded {i}", CreatedAt = at };
                var job = new LlmJob { Id = Guid.NewGuid(), Kind = "seeded", Status = LlmJobStatus.Completed, CreatedAt = at.AddMinutes(i), ExpiresAt = at.AddDays(1) };
                db.AddRange(session, job);
                seeded.Add((session.Id, session.CreatedAt));
                seeded.Add((job.Id, job.CreatedAt));
            }

            await db.SaveChangesAsync();
        }

        var pages = new List<List<Guid>>();
        string? next = null;
        do
        {
            var page = await _client.GetFromJsonAsync<JsonElement>($"/api/runs?from=2020-03-01T00:00:00Z&to=2020-03-02T00:00:00Z&limit=3{(next is null ? "" : "&cursor=" + next)}");
            pages.Add([.. page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetGuid())]);
            next = page.GetProperty("next").GetString();
        }
        while (next is not null && pages.Count < 10);

        Assert.Equal([3, 3, 3, 1], pages.Select(p => p.Count));
        var expected = seeded.OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id.ToString(), StringComparer.Ordinal).Select(s => s.Id);
        Assert.Equal(expected, pages.SelectMany(p => p));
    }

    [Theory]
    [InlineData("?workflow=no-such-workflow", "workflow")]
    [InlineData("?workflow=scan-sessions&status=queued", "status")]
    [InlineData("?status=bogus", "status")]
    [InlineData("?project=not-a-guid", "project")]
    [InlineData("?from=yesterday", "from")]
    [InlineData("?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "to")]
    [InlineData("?limit=0", "limit")]
    [InlineData("?limit=501", "limit")]
    [InlineData("?cursor=not-a-cursor", "cursor")]
    public async Task Should_refuse_a_bad_filter_naming_it(string query, string key)
    {
        using var response = await _client.GetAsync(new Uri("/api/runs" + query, UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(key, out _), $"errors name {key}: {problem}");
    }

    [Fact]
    public async Task Should_refuse_text_longer_than_the_limit()
    {
        using var response = await _client.GetAsync(new Uri("/api/runs?text=" + new string('x', 201), UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Should_answer_404_for_an_unknown_workflow_or_run_and_400_for_a_bad_id()
    {
        using var unknownWorkflow = await _client.GetAsync(new Uri($"/api/runs/no-such-workflow/{Guid.NewGuid()}/history", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, unknownWorkflow.StatusCode);
        Assert.Contains("scan-sessions", await unknownWorkflow.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var unknownRun = await _client.GetAsync(new Uri($"/api/runs/llm-jobs/{Guid.NewGuid()}/history", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, unknownRun.StatusCode);

        using var badId = await _client.GetAsync(new Uri("/api/runs/llm-jobs/not-a-guid/history", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, badId.StatusCode);
    }

    private async Task<Guid> StartScanAsync()
    {
        using var response = await _client.PostAsJsonAsync("/api/scan-sessions", new { targetHoleCodes = ScanFixtures.Codes, fileContent = Convert.ToBase64String(ScanFixtures.Zip(4)), fileName = "drawings.zip" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private async Task<List<Guid>> ListIdsAsync(string query)
    {
        var page = await _client.GetFromJsonAsync<JsonElement>("/api/runs" + query);
        return [.. page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetGuid())];
    }

    private async Task<JsonElement> WaitForHistoryAsync(string workflow, Guid id, Func<JsonElement, bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            using var response = await _client.GetAsync(new Uri($"/api/runs/{workflow}/{id}/history", UriKind.Relative), deadline.Token);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var history = await response.Content.ReadFromJsonAsync<JsonElement>(deadline.Token);
                if (condition(history))
                    return history;
            }

            await Task.Delay(50, deadline.Token);
        }
    }
}
