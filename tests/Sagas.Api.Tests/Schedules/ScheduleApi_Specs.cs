using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Sagas.Api.Tests.Hosting;

namespace Sagas.Api.Tests.Schedules;

/// <summary>The embedded default: the scheduler role runs in the API process, so the API asks its own Quartz scheduler.</summary>
public sealed class When_schedules_are_managed_in_the_embedded_api(EmbeddedApi api) : IClassFixture<EmbeddedApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_list_the_declared_schedules_with_their_next_fire_time()
    {
        var schedules = await _client.GetFromJsonAsync<JsonElement>("/api/schedules");

        var poll = schedules.EnumerateArray().Single(s => s.GetProperty("name").GetString() == "llm-job-poll");
        Assert.Equal("0/5 * * * * ?", poll.GetProperty("cron").GetString());
        Assert.True(poll.GetProperty("enabled").GetBoolean());
        Assert.Equal(JsonValueKind.String, poll.GetProperty("nextFireTime").ValueKind);
        Assert.EndsWith("poll-llm-jobs", poll.GetProperty("destination").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_pause_and_resume_a_schedule()
    {
        using var paused = await _client.PostAsync(new Uri("/api/schedules/llm-job-poll/pause", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        Assert.True((await paused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("paused").GetBoolean());
        Assert.True(await IsPausedAsync("llm-job-poll"));

        using var resumed = await _client.PostAsync(new Uri("/api/schedules/llm-job-poll/resume", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        Assert.False((await resumed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("paused").GetBoolean());
        Assert.False(await IsPausedAsync("llm-job-poll"));
    }

    [Theory]
    [InlineData("pause")]
    [InlineData("resume")]
    public async Task Should_answer_404_with_problem_details_for_an_unknown_schedule(string action)
    {
        using var response = await _client.PostAsync(new Uri($"/api/schedules/no-such-schedule/{action}", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("no-such-schedule", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private async Task<bool> IsPausedAsync(string name)
    {
        var schedules = await _client.GetFromJsonAsync<JsonElement>("/api/schedules");
        return schedules.EnumerateArray().Single(s => s.GetProperty("name").GetString() == name).GetProperty("paused").GetBoolean();
    }
}

/// <summary>An API process without the scheduler role and no scheduler anywhere on its (in-memory) bus.</summary>
public sealed class ApiWithoutScheduler : WebApplicationFactory<Program>
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("Worker:Roles", "llm-jobs");
        builder.UseSetting("Api:SchedulerRequestTimeout", "00:00:00.300");
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

public sealed class When_no_scheduler_is_reachable(ApiWithoutScheduler api) : IClassFixture<ApiWithoutScheduler>
{
    private readonly HttpClient _client = api.CreateClient();

    [Theory]
    [InlineData("GET", "/api/schedules")]
    [InlineData("POST", "/api/schedules/llm-job-poll/pause")]
    [InlineData("POST", "/api/schedules/llm-job-poll/resume")]
    public async Task Should_answer_503_with_problem_details_naming_the_scheduler_role(string method, string path)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("No scheduler reachable", problem.GetProperty("title").GetString());
        Assert.Contains("scheduler role", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
