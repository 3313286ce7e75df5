using System.Collections.Concurrent;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Breakers;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Components.Tests.LlmJobs.Providers;
using Sagas.Contracts.LlmJobs;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.LlmJobs;
using Sagas.Integration.Tests.Transports;
using Sagas.LlmJobs.Data;
using Sagas.Modules.Breakers;

namespace Sagas.Integration.Tests.Breakers;

/// <summary>
/// An LLM job on the OpenAI provider against a stub that answers every submission 500 until the spec lets it recover,
/// with the breakers on: RabbitMQ, PostgreSQL, the scheduler that brings the deferred submission back, the saga.
/// </summary>
[Collection(BreakerEndToEnd.Collection)]
public sealed class When_an_llm_job_meets_a_failing_provider_with_breakers_on(PostgresDatabase database, RabbitMqTestTransport broker)
    : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqTestTransport>
{
    private const int Items = 6;
    private const string Model = "gpt-6-luna";

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_keep_the_items_queued_while_open_and_submit_each_once_after_a_probe_closes_it()
    {
        var failing = true;
        var failed = new ConcurrentQueue<string>();
        var submitted = new ConcurrentQueue<string>();
        await using var stub = await HttpStub.StartAsync(app =>
        {
            app.MapPost("/v1/responses", async (HttpContext context) =>
            {
                using var body = await JsonDocument.ParseAsync(context.Request.Body);
                var itemId = body.RootElement.GetProperty("metadata").GetProperty("item_id").GetString()!;
                if (Volatile.Read(ref failing))
                {
                    failed.Enqueue(itemId);
                    await OpenAiStub.Write(context, 500, OpenAiStub.Error("The server had an error while processing your request.", "server_error", null));
                    return;
                }

                submitted.Enqueue(itemId);
                await OpenAiStub.Write(context, 200, OpenAiStub.Response("resp_" + itemId, "queued", itemId: itemId));
            });
            app.MapGet("/v1/responses/{id}", (HttpContext context, string id) => OpenAiStub.Write(context, 200,
                OpenAiStub.Response(id, "completed", OpenAiStub.Decision(false, "none", 0.6, $"Decision for {id}."), id["resp_".Length..])));
        });

        using var watch = new BreakerWatch();
        await using var host = await LlmJobHost.StartAsync(database, broker, TimeSpan.FromSeconds(1), new Dictionary<string, string?>
        {
            ["LlmJobs:Providers:Default"] = "openai",
            ["LlmJobs:Providers:OpenAi:Enabled"] = "true",
            ["LlmJobs:Providers:OpenAi:BaseUrl"] = stub.BaseAddress.ToString().TrimEnd('/'),
            ["LlmJobs:Providers:OpenAi:ApiKey"] = "sk-test-loopback",
            ["LlmJobs:Providers:OpenAi:DefaultModel"] = Model,
            // One retry inside the provider: a call that reaches the stub costs two requests, one turned away costs none.
            ["LlmJobs:Providers:OpenAi:Retry:MaxRetryAttempts"] = "1",
            ["LlmJobs:Providers:OpenAi:Retry:BaseDelay"] = "00:00:00.010",
            ["Breakers:Enabled"] = "true",
            ["Breakers:ReportInterval"] = "00:00:00.100",
            ["Breakers:Defaults:ConsecutiveFailures"] = "3",
            ["Breakers:Defaults:FailureRatio"] = "0",
            // Long enough for the deferred submission to come back and be turned away while the stub still fails.
            ["Breakers:Defaults:BreakDuration"] = "00:00:05",
        });
        var breakers = host.Services.GetRequiredService<ProviderBreakers>();
        var jobId = NewId.NextGuid();

        await host.Services.GetRequiredService<IBus>().Publish(LlmJobHost.Job(jobId, Items));

        BreakerRecord? record = null;
        await BreakerWatch.UntilAsync(async () => (record = await SubmitBreakerAsync(breakers)) is { State: BreakerState.Open }, TimeSpan.FromSeconds(60),
            () => $"the openai/{Model} breaker to open (now {record?.State}, stub saw {failed.Count} failures)");
        var failuresWhenOpened = failed.Count;
        // Each call that went was one request and its one retry; at least three calls went before it opened.
        Assert.InRange(failuresWhenOpened, 6, Items * 2);
        Assert.All(failed.GroupBy(i => i), item => Assert.Equal(2, item.Count()));

        // The submission comes back and every item is turned away without a request: no retry spent on any of them.
        await BreakerWatch.UntilAsync(() => watch.Rejected("openai", Model) >= Items, TimeSpan.FromSeconds(30),
            () => $"{Items} submissions turned away (saw {watch.Rejected("openai", Model)})");
        Assert.Equal(failuresWhenOpened, failed.Count);
        Assert.Empty(submitted);

        // Deferred, not failed: the job runs on with every item still queued.
        var items = await host.QueryAsync(db => db.Set<LlmJobItem>().AsNoTracking().Where(i => i.JobId == jobId).ToListAsync());
        Assert.Equal(Items, items.Count);
        Assert.All(items, item => Assert.Contains(item.Status, new[] { LlmJobItemStatus.Queued, LlmJobItemStatus.Submitting }));
        var job = await host.QueryAsync(db => db.Set<LlmJob>().AsNoTracking().SingleAsync(j => j.Id == jobId));
        Assert.Contains(job.Status, new[] { LlmJobStatus.Queued, LlmJobStatus.Running });
        Assert.Equal(0, job.FailedItems + job.ProcessedItems);

        // The stub recovers while the breaker is open: after the break one probe goes, succeeds and closes it.
        Volatile.Write(ref failing, false);
        job = await host.WaitForJobAsync(jobId, j => j.Status is LlmJobStatus.Completed or LlmJobStatus.Failed, TimeSpan.FromSeconds(90));
        Assert.Equal(LlmJobStatus.Completed, job.Status);
        Assert.Equal((Items, Items, Items, 0, 0), (job.TotalItems, job.ProcessedItems, job.SucceededItems, job.FailedItems, job.CancelledItems));
        Assert.Equal("Completed", await host.WaitForSagaAsync(jobId, "Completed", TimeSpan.FromSeconds(30)));

        record = await SubmitBreakerAsync(breakers);
        Assert.Equal(BreakerState.Closed, record!.State);
        var transitions = await breakers.TransitionsAsync(10, CancellationToken.None);
        Assert.Equal(
            [(BreakerState.Closed, BreakerState.Open), (BreakerState.Open, BreakerState.HalfOpen), (BreakerState.HalfOpen, BreakerState.Closed)],
            transitions.Where(t => t.Key == new BreakerKey("openai", Model)).Reverse().Select(t => (t.From, t.To)));

        // Exact counts: every item submitted once after the recovery, and no failure after the breaker opened.
        Assert.Equal(failuresWhenOpened, failed.Count);
        Assert.Equal(Enumerable.Range(1, Items).Select(i => $"i{i}").Order(), submitted.Order());
        items = await host.QueryAsync(db => db.Set<LlmJobItem>().AsNoTracking().Where(i => i.JobId == jobId).ToListAsync());
        Assert.All(items, item => Assert.Equal((LlmJobItemStatus.Succeeded, "resp_" + item.ItemId), (item.Status, item.ProviderTaskId)));
    }

    private static async Task<BreakerRecord?> SubmitBreakerAsync(ProviderBreakers breakers) =>
        (await breakers.ListAsync(CancellationToken.None)).SingleOrDefault(r => r.Key == new BreakerKey("openai", Model));
}
