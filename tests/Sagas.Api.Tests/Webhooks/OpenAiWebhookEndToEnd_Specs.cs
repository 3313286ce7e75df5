using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Components.Tests.LlmJobs.Providers;
using Sagas.LlmJobs.Data;
using Sagas.Persistence;

namespace Sagas.Api.Tests.Webhooks;

/// <summary>
/// The whole embedded workflow on the real OpenAI provider against a loopback stub, with polling slowed to a
/// 10-minute interval and an hourly tick: only the webhook can make the job finish within the test's deadline.
/// </summary>
public sealed class When_openai_announces_a_finished_response_by_webhook : IAsyncLifetime
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, string> _responses = new();
    private readonly ConcurrentDictionary<string, bool> _finished = new();
    private HttpStub _stub = null!;
    private SlowPollingOpenAiApi _api = null!;

    public async Task InitializeAsync()
    {
        _stub = await HttpStub.StartAsync(app =>
        {
            app.MapPost("/v1/responses", async (HttpContext context) =>
            {
                using var body = await JsonDocument.ParseAsync(context.Request.Body);
                var itemId = body.RootElement.GetProperty("metadata").GetProperty("item_id").GetString()!;
                var id = "resp_" + Guid.NewGuid().ToString("N");
                _responses[id] = itemId;
                await OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "queued", itemId: itemId));
            });
            app.MapGet("/v1/responses/{id}", (HttpContext context, string id) => _finished.ContainsKey(id)
                ? OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "completed", OpenAiStub.Decision(), _responses[id]))
                : OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "in_progress", itemId: _responses[id])));
        });
        _api = new SlowPollingOpenAiApi(_stub.BaseAddress, PollInterval);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _stub.DisposeAsync();
    }

    [Fact]
    public async Task Should_complete_the_job_long_before_its_next_scheduled_poll()
    {
        using var client = _api.CreateClient();
        using var submitted = await client.PostAsJsonAsync("/api/llm-jobs", new
        {
            kind = "flagging",
            items = new[] { new { id = "item-1", entityType = "post", entityId = "p1", input = "Buy cheap watches at example.test!!!" } },
        });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var inFlight = await WaitForAsync(async db =>
        {
            var item = await db.Set<LlmJobItem>().AsNoTracking().SingleOrDefaultAsync(i => i.JobId == jobId && i.ProviderTaskId != null);
            var job = await db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId && j.Status == LlmJobStatus.Running && j.NextPollAt != null);
            return item is not null && job is not null ? (item.ProviderTaskId!, job.NextPollAt!.Value) : default;
        });
        var (responseId, scheduledPoll) = inFlight;
        Assert.True(scheduledPoll > DateTimeOffset.UtcNow.AddMinutes(5), $"the job's first poll should be about {PollInterval} away, not {scheduledPoll:O}");

        _finished[responseId] = true;
        using var webhook = await client.SendAsync(SignedWebhook.Request(SignedWebhook.Event("response.completed", responseId)));
        Assert.Equal(HttpStatusCode.OK, webhook.StatusCode);

        // The deadline is a small fraction of the poll interval: meeting it at all means the webhook drove the poll.
        var job = await WaitForAsync(db => db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId && j.Status != LlmJobStatus.Running && j.Status != LlmJobStatus.Queued));
        Assert.Equal(LlmJobStatus.Completed, job!.Status);
        Assert.Equal((1, 1, 0), (job.ProcessedItems, job.SucceededItems, job.FailedItems));
        var item = await Query(db => db.Set<LlmJobItem>().AsNoTracking().SingleAsync(i => i.JobId == jobId));
        Assert.Equal((LlmJobItemStatus.Succeeded, true, "spam"), (item.Status, item.Flagged, item.Category));
    }

    private async Task<T> WaitForAsync<T>(Func<SagasDbContext, Task<T>> probe)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var value = await Query(probe);
            if (!EqualityComparer<T>.Default.Equals(value, default))
                return value;
            await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
        }
    }

    private async Task<T> Query<T>(Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = _api.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }

    private sealed class SlowPollingOpenAiApi(Uri stub, TimeSpan pollInterval) : WebApplicationFactory<Program>
    {
        private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("Database:DataDirectory", _dataDirectory);
            builder.UseSetting("LlmJobs:Providers:Default", "openai");
            builder.UseSetting("LlmJobs:Providers:OpenAi:Enabled", "true");
            builder.UseSetting("LlmJobs:Providers:OpenAi:BaseUrl", stub.ToString().TrimEnd('/'));
            builder.UseSetting("LlmJobs:Providers:OpenAi:ApiKey", OpenAiStub.ApiKey);
            builder.UseSetting("LlmJobs:Providers:OpenAi:WebhookSecret", SignedWebhook.Secret);
            builder.UseSetting("LlmJobs:Polling:Interval", pollInterval.ToString());
            builder.UseSetting("LlmJobs:Polling:MaxInterval", (pollInterval * 2).ToString());
            builder.UseSetting("Scheduling:Schedules:llm-job-poll:Cron", "0 0 * * * ?");
        }

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            if (Directory.Exists(_dataDirectory))
                Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}
