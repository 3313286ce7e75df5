using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Api.Security;
using Sagas.Api.Tests.Hosting;
using Sagas.Contracts.LlmJobs;
using Sagas.LlmJobs.Data;
using Sagas.Persistence;

namespace Sagas.Api.Tests.Webhooks;

/// <summary>Signs deliveries the way OpenAI does (Standard Webhooks), computed here rather than with the API's own code.</summary>
internal static class SignedWebhook
{
    public static readonly byte[] Key = [.. Enumerable.Range(0, 32).Select(i => (byte)(i * 7 + 3))];
    public static readonly string Secret = "whsec_" + Convert.ToBase64String(Key);

    public static string Event(string type, string dataId) => JsonSerializer.Serialize(new
    {
        id = "evt_" + Guid.NewGuid().ToString("N"),
        @object = "event",
        created_at = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        type,
        data = new { id = dataId },
    });

    public static HttpRequestMessage Request(string body, byte[]? key = null, DateTimeOffset? at = null, string? leaveOut = null)
    {
        var id = "msg_" + Guid.NewGuid().ToString("N");
        var timestamp = (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signature = HMACSHA256.HashData(key ?? Key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}"));
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/openai") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        var headers = new Dictionary<string, string>
        {
            ["webhook-id"] = id,
            ["webhook-timestamp"] = timestamp,
            // A rotated-out secret's signature first: any one matching entry is enough.
            ["webhook-signature"] = "v1,c29tZSBvbGQgc2lnbmF0dXJlIHRoYXQgZG9lcyBub3QgbWF0Y2g= v1," + Convert.ToBase64String(signature),
        };
        foreach (var (name, value) in headers.Where(h => h.Key != leaveOut))
            request.Headers.Add(name, value);
        return request;
    }
}

/// <summary>The embedded default with an OpenAI webhook secret configured.</summary>
public class WebhookApi : WebApplicationFactory<Program>
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));

    protected virtual string Environment => "Development";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(Environment);
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("LlmJobs:Providers:OpenAi:WebhookSecret", SignedWebhook.Secret);
    }

    /// <summary>
    /// A running job whose next poll is an hour away. Its lease is held by an imaginary poller so no tick claims it and
    /// NextPollAt stays exactly what the webhook made it.
    /// </summary>
    public async Task<Guid> RunningJobAsync(string? responseId = null, string? batchId = null, DateTimeOffset? nextPollAt = null)
    {
        var now = DateTimeOffset.UtcNow;
        var job = new LlmJob
        {
            Id = Guid.NewGuid(),
            Kind = "flagging",
            Model = "gpt-6-luna",
            Instructions = "Flag spam.",
            Priority = LlmJobPriority.Normal,
            Mode = batchId is null ? LlmJobMode.Background : LlmJobMode.Batch,
            Status = LlmJobStatus.Running,
            Provider = "openai",
            TotalItems = 1,
            CreatedAt = now,
            StartedAt = now,
            ExpiresAt = now.AddDays(1),
            NextPollAt = nextPollAt ?? now.AddHours(1),
            PollIntervalMs = 3_600_000,
            LeaseId = Guid.NewGuid(),
            LeaseUntil = now.AddHours(2),
        };
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        db.Add(job);
        db.Add(new LlmJobItem
        {
            JobId = job.Id,
            ItemId = "item-1",
            EntityType = "post",
            EntityId = "p1",
            Input = "Buy cheap watches",
            Status = LlmJobItemStatus.Processing,
            ProviderTaskId = responseId,
            ProviderBatchId = batchId,
            CreatedAt = now,
            SubmittedAt = now,
            LastPolledAt = now,
        });
        if (batchId is not null)
            db.Add(new LlmJobBatch { JobId = job.Id, BatchId = batchId, Status = "in_progress", ItemCount = 1, CreatedAt = now });
        await db.SaveChangesAsync();
        return job.Id;
    }

    public async Task<(DateTimeOffset? NextPollAt, DateTimeOffset? ItemLastPolledAt)> PollStateAsync(Guid jobId)
    {
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var job = await db.Set<LlmJob>().AsNoTracking().SingleAsync(j => j.Id == jobId);
        var item = await db.Set<LlmJobItem>().AsNoTracking().SingleAsync(i => i.JobId == jobId);
        return (job.NextPollAt, item.LastPolledAt);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

/// <summary>Production with an API key and a webhook secret: OpenAI has no API key, the signature is its credential.</summary>
public sealed class ProductionWebhookApi : WebhookApi
{
    protected override string Environment => "Production";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Security:ApiKeys:0:Name", "test-client");
        builder.UseSetting("Security:ApiKeys:0:Sha256", ApiKeyHash.Compute(ProductionApi.Key));
    }
}

public sealed class When_openai_pushes_a_signed_webhook(WebhookApi api) : IClassFixture<WebhookApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Theory]
    [InlineData("response.completed")]
    [InlineData("response.failed")]
    [InlineData("response.cancelled")]
    [InlineData("response.incomplete")]
    public async Task Should_make_the_job_holding_the_response_due_now(string type)
    {
        var responseId = "resp_" + Guid.NewGuid().ToString("N");
        var jobId = await api.RunningJobAsync(responseId);
        var before = DateTimeOffset.UtcNow;

        using var response = await _client.SendAsync(SignedWebhook.Request(SignedWebhook.Event(type, responseId)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (nextPollAt, lastPolledAt) = await api.PollStateAsync(jobId);
        Assert.InRange(nextPollAt!.Value, before.AddSeconds(-1), DateTimeOffset.UtcNow);
        // First in line among the job's items for the next poll.
        Assert.Null(lastPolledAt);
    }

    [Theory]
    [InlineData("batch.completed")]
    [InlineData("batch.failed")]
    [InlineData("batch.expired")]
    [InlineData("batch.cancelled")]
    public async Task Should_make_the_job_holding_the_batch_due_now(string type)
    {
        var batchId = "batch_" + Guid.NewGuid().ToString("N");
        var jobId = await api.RunningJobAsync(batchId: batchId);
        var before = DateTimeOffset.UtcNow;

        using var response = await _client.SendAsync(SignedWebhook.Request(SignedWebhook.Event(type, batchId)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.InRange((await api.PollStateAsync(jobId)).NextPollAt!.Value, before.AddSeconds(-1), DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Should_never_push_a_due_poll_later_and_be_harmless_when_delivered_twice()
    {
        var responseId = "resp_" + Guid.NewGuid().ToString("N");
        var alreadyDue = DateTimeOffset.UtcNow.AddMinutes(-3);
        var jobId = await api.RunningJobAsync(responseId, nextPollAt: alreadyDue);
        var body = SignedWebhook.Event("response.completed", responseId);

        using var first = await _client.SendAsync(SignedWebhook.Request(body));
        using var second = await _client.SendAsync(SignedWebhook.Request(body));

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, second.StatusCode));
        Assert.Equal(alreadyDue.ToUnixTimeMilliseconds(), (await api.PollStateAsync(jobId)).NextPollAt!.Value.ToUnixTimeMilliseconds());
    }

    [Theory]
    [InlineData("response.completed")]
    [InlineData("batch.completed")]
    [InlineData("fine_tuning.job.succeeded")]
    public async Task Should_answer_200_and_change_nothing_for_an_id_or_event_no_job_holds(string type)
    {
        var responseId = "resp_" + Guid.NewGuid().ToString("N");
        var jobId = await api.RunningJobAsync(responseId);
        var before = await api.PollStateAsync(jobId);

        using var response = await _client.SendAsync(SignedWebhook.Request(SignedWebhook.Event(type, type.StartsWith("response.", StringComparison.Ordinal) ? "resp_unknown" : "batch_unknown")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(before, await api.PollStateAsync(jobId));
    }
}

public sealed class When_webhooks_are_metered(WebhookApi api) : IClassFixture<WebhookApi>
{
    [Fact]
    public async Task Should_count_deliveries_by_event_type_and_outcome()
    {
        var recorded = new ConcurrentQueue<(string? Type, string? Outcome)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Sagas" && instrument.Name == "sagas.llm_jobs.webhooks")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var pairs = tags.ToArray();
            recorded.Enqueue((pairs.FirstOrDefault(t => t.Key == "event_type").Value as string, pairs.FirstOrDefault(t => t.Key == "outcome").Value as string));
        });
        listener.Start();
        using var client = api.CreateClient();
        var responseId = "resp_" + Guid.NewGuid().ToString("N");
        await api.RunningJobAsync(responseId);

        using var accepted = await client.SendAsync(SignedWebhook.Request(SignedWebhook.Event("response.completed", responseId)));
        using var ignored = await client.SendAsync(SignedWebhook.Request(SignedWebhook.Event("batch.expired", "batch_nobody")));
        using var other = await client.SendAsync(SignedWebhook.Request(SignedWebhook.Event("eval.run.succeeded", "evalrun_1")));
        using var rejected = await client.SendAsync(SignedWebhook.Request(SignedWebhook.Event("response.completed", responseId), key: new byte[32]));

        Assert.Contains(("response.completed", "accepted"), recorded);
        Assert.Contains(("batch.expired", "ignored"), recorded);
        Assert.Contains(("other", "ignored"), recorded);
        Assert.Contains(("unverified", "rejected"), recorded);
    }
}

public sealed class When_a_webhook_is_not_signed_right(WebhookApi api) : IClassFixture<WebhookApi>
{
    private readonly HttpClient _client = api.CreateClient();

    public static TheoryData<string> Refusals => ["wrong key", "stale", "from the future", "tampered body", "webhook-id", "webhook-timestamp", "webhook-signature"];

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Should_answer_400_with_problem_details_and_change_nothing(string refusal)
    {
        var responseId = "resp_" + Guid.NewGuid().ToString("N");
        var jobId = await api.RunningJobAsync(responseId);
        var before = await api.PollStateAsync(jobId);
        var body = SignedWebhook.Event("response.completed", responseId);
        using var request = refusal switch
        {
            "wrong key" => SignedWebhook.Request(body, key: [.. SignedWebhook.Key.Reverse()]),
            "stale" => SignedWebhook.Request(body, at: DateTimeOffset.UtcNow.AddMinutes(-6)),
            "from the future" => SignedWebhook.Request(body, at: DateTimeOffset.UtcNow.AddMinutes(6)),
            "tampered body" => Tamper(SignedWebhook.Request(body), body.Replace(responseId, "resp_other", StringComparison.Ordinal)),
            _ => SignedWebhook.Request(body, leaveOut: refusal),
        };

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await api.PollStateAsync(jobId));
    }

    [Fact]
    public async Task Should_refuse_a_body_larger_than_any_event_with_413()
    {
        using var request = SignedWebhook.Request(new string('x', 70 * 1024));

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    private static HttpRequestMessage Tamper(HttpRequestMessage request, string body)
    {
        request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        return request;
    }
}

public sealed class When_no_webhook_secret_is_configured(EmbeddedApi api) : IClassFixture<EmbeddedApi>
{
    [Fact]
    public async Task Should_not_have_the_webhook_route()
    {
        using var client = api.CreateClient();

        using var response = await client.SendAsync(SignedWebhook.Request(SignedWebhook.Event("response.completed", "resp_1")));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}

public sealed class When_a_webhook_reaches_a_production_api(ProductionWebhookApi api) : IClassFixture<ProductionWebhookApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_accept_the_signature_as_the_only_credential()
    {
        var responseId = "resp_" + Guid.NewGuid().ToString("N");
        var jobId = await api.RunningJobAsync(responseId);
        var before = DateTimeOffset.UtcNow;

        using var response = await _client.SendAsync(SignedWebhook.Request(SignedWebhook.Event("response.completed", responseId)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.InRange((await api.PollStateAsync(jobId)).NextPollAt!.Value, before.AddSeconds(-1), DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Should_still_refuse_a_bad_signature_and_keep_other_routes_closed()
    {
        var responseId = "resp_" + Guid.NewGuid().ToString("N");
        var jobId = await api.RunningJobAsync(responseId);
        var before = await api.PollStateAsync(jobId);

        using var forged = await _client.SendAsync(SignedWebhook.Request(SignedWebhook.Event("response.completed", responseId), key: new byte[32]));
        using var jobs = await _client.GetAsync(new Uri("/api/llm-jobs", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal("application/problem+json", forged.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await api.PollStateAsync(jobId));
        Assert.Equal(HttpStatusCode.Unauthorized, jobs.StatusCode);
    }
}
