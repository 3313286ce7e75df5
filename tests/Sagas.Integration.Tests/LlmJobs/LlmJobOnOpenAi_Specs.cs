using System.Collections.Concurrent;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Components.Tests.LlmJobs.Providers;
using Sagas.Contracts.LlmJobs;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;
using Sagas.LlmJobs.Data;

namespace Sagas.Integration.Tests.LlmJobs;

/// <summary>
/// The whole workflow (RabbitMQ, PostgreSQL, the scheduler's poll tick, the saga, the outbox) with the real OpenAI
/// provider talking HTTP to a loopback stub that answers like api.openai.com.
/// </summary>
public sealed class When_an_llm_job_runs_against_openai : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqTestTransport>
{
    private const string RejectedInput = "text the stub refuses";

    private readonly PostgresDatabase _database;
    private readonly RabbitMqTestTransport _broker;

    public When_an_llm_job_runs_against_openai(PostgresDatabase database, RabbitMqTestTransport broker)
    {
        _database = database;
        _broker = broker;
    }

    private static Dictionary<string, string?> OpenAiSettings(HttpStub stub) => new()
    {
        ["LlmJobs:Providers:Default"] = "openai",
        ["LlmJobs:Providers:OpenAi:Enabled"] = "true",
        ["LlmJobs:Providers:OpenAi:BaseUrl"] = stub.BaseAddress.ToString().TrimEnd('/'),
        ["LlmJobs:Providers:OpenAi:ApiKey"] = "sk-test-loopback",
        ["LlmJobs:Providers:OpenAi:Retry:BaseDelay"] = "00:00:00.010",
    };

    private static SubmitLlmJob Job(Guid jobId, LlmJobMode mode, int items, int rejectedItem) => new(
        jobId, "flagging", null, null, LlmJobPriority.Normal, mode,
        [.. Enumerable.Range(1, items).Select(i => new LlmJobItemInput($"i{i}", "post", $"{jobId:N}-{i}", i == rejectedItem ? RejectedInput : $"input {i}"))],
        DateTimeOffset.UtcNow.AddHours(1), "specs");

    /// <summary>Odd items are flagged, even ones are not: the stored decisions must follow what the stub said.</summary>
    private static string DecisionFor(string itemId)
    {
        var flagged = int.Parse(itemId[1..], System.Globalization.CultureInfo.InvariantCulture) % 2 == 1;
        return OpenAiStub.Decision(flagged, flagged ? "spam" : "none", flagged ? 0.9 : 0.6, $"Decision for {itemId}.");
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_poll_background_responses_to_completion_and_fail_only_the_rejected_item()
    {
        var taskItems = new ConcurrentDictionary<string, string>();
        var served = new ConcurrentDictionary<string, ConcurrentQueue<string>>();
        var submissions = new ConcurrentQueue<string>();
        await using var stub = await HttpStub.StartAsync(app =>
        {
            app.MapPost("/v1/responses", async (HttpContext context) =>
            {
                using var body = await JsonDocument.ParseAsync(context.Request.Body);
                var itemId = body.RootElement.GetProperty("metadata").GetProperty("item_id").GetString()!;
                submissions.Enqueue(itemId);
                if (body.RootElement.GetRawText().Contains(RejectedInput, StringComparison.Ordinal))
                {
                    await OpenAiStub.Write(context, 400, OpenAiStub.Error("Invalid input: the text is not allowed.", "invalid_request_error", "invalid_value", "input"));
                    return;
                }

                var id = "resp_" + itemId;
                taskItems[id] = itemId;
                served.GetOrAdd(id, _ => new()).Enqueue("queued");
                await OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "queued", itemId: itemId));
            });
            app.MapGet("/v1/responses/{id}", async (HttpContext context, string id) =>
            {
                if (!taskItems.TryGetValue(id, out var itemId))
                {
                    await OpenAiStub.Write(context, 404, OpenAiStub.Error($"No response found with id '{id}'.", "invalid_request_error", null));
                    return;
                }

                var history = served[id];
                var status = history.Count == 1 ? "in_progress" : "completed";
                history.Enqueue(status);
                await OpenAiStub.Write(context, 200, OpenAiStub.Response(id, status, status == "completed" ? DecisionFor(itemId) : null, itemId));
            });
        });
        await using var host = await LlmJobHost.StartAsync(_database, _broker, TimeSpan.FromSeconds(1), OpenAiSettings(stub));
        var jobId = NewId.NextGuid();

        await host.Services.GetRequiredService<IBus>().Publish(Job(jobId, LlmJobMode.Background, items: 6, rejectedItem: 4));

        var job = await host.WaitForJobAsync(jobId, j => j.Status is LlmJobStatus.Completed or LlmJobStatus.Failed, TimeSpan.FromSeconds(90));
        Assert.Equal(LlmJobStatus.Completed, job.Status);
        Assert.Equal("openai", job.Provider);
        Assert.False(job.Simulated);
        Assert.Equal((6, 6, 5, 1, 0), (job.TotalItems, job.ProcessedItems, job.SucceededItems, job.FailedItems, job.CancelledItems));
        Assert.Equal("Completed", await host.WaitForSagaAsync(jobId, "Completed", TimeSpan.FromSeconds(30)));

        // Every accepted response was seen queued, then in progress, then completed, and never polled after that.
        Assert.Equal(5, served.Count);
        Assert.All(served.Values, history => Assert.Equal(["queued", "in_progress", "completed"], history.ToArray()));
        Assert.Equal(1, submissions.Count(id => id == "i4"));

        var items = await host.QueryAsync(db => db.Set<LlmJobItem>().AsNoTracking().Where(i => i.JobId == jobId).ToListAsync());
        var rejected = Assert.Single(items, i => i.ItemId == "i4");
        Assert.Equal(LlmJobItemStatus.Failed, rejected.Status);
        Assert.Null(rejected.ProviderTaskId);
        Assert.Contains("the text is not allowed", rejected.Error, StringComparison.Ordinal);
        Assert.All(items.Where(i => i.ItemId != "i4"), item =>
        {
            Assert.Equal(LlmJobItemStatus.Succeeded, item.Status);
            Assert.Equal("resp_" + item.ItemId, item.ProviderTaskId);
            Assert.Equal(item.ItemId is "i1" or "i3" or "i5", item.Flagged);
            Assert.Equal($"Decision for {item.ItemId}.", item.Reason);
            Assert.Equal(182, item.InputTokens);
            Assert.Equal(41, item.OutputTokens);
            Assert.NotNull(item.CompletedAt);
        });

        var flags = await host.QueryAsync(db => db.Set<EntityFlag>().AsNoTracking().Where(f => f.JobId == jobId).OrderBy(f => f.ItemId).ToListAsync());
        Assert.Equal(["i1", "i2", "i3", "i5", "i6"], flags.Select(f => f.ItemId));
        Assert.All(flags, flag =>
        {
            Assert.Equal("post", flag.EntityType);
            Assert.Equal($"{jobId:N}-{flag.ItemId[1..]}", flag.EntityId);
            Assert.Equal(flag.ItemId is "i1" or "i3" or "i5", flag.Flagged);
            Assert.Equal(flag.Flagged ? "spam" : "none", flag.Category);
            Assert.False(flag.Simulated);
        });
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_run_a_batch_from_upload_to_output_and_error_files_with_exact_counts()
    {
        var uploads = new ConcurrentQueue<(string Purpose, string Content)>();
        var batchPolls = 0;
        var batchesCreated = 0;
        string InputLines() => uploads.Single().Content;
        await using var stub = await HttpStub.StartAsync(app =>
        {
            app.MapPost("/v1/files", async (HttpContext context) =>
            {
                var form = await context.Request.ReadFormAsync();
                var file = form.Files["file"]!;
                using var reader = new StreamReader(file.OpenReadStream());
                uploads.Enqueue((form["purpose"].ToString(), await reader.ReadToEndAsync()));
                await OpenAiStub.Write(context, 200, OpenAiStub.File("file-input1", file.Length, file.FileName, "batch"));
            });
            app.MapPost("/v1/batches", async (HttpContext context) =>
            {
                Interlocked.Increment(ref batchesCreated);
                await OpenAiStub.Write(context, 200, OpenAiStub.Batch("batch_e2e1", "validating", 0, 0, 0));
            });
            app.MapGet("/v1/batches/{id}", (HttpContext context, string id) => Interlocked.Increment(ref batchPolls) == 1
                ? OpenAiStub.Write(context, 200, OpenAiStub.Batch(id, "in_progress", 5, 2, 0))
                : OpenAiStub.Write(context, 200, OpenAiStub.Batch(id, "completed", 5, 4, 1, "file-out1", "file-err1")));
            app.MapGet("/v1/files/{id}/content", (HttpContext context, string id) =>
            {
                var lines = InputLines().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement);
                var output = new List<string>();
                foreach (var line in lines)
                {
                    var customId = line.GetProperty("custom_id").GetString()!;
                    var rejected = line.GetRawText().Contains(RejectedInput, StringComparison.Ordinal);
                    if (id == "file-out1" && !rejected)
                        output.Add(OpenAiStub.OutputLine(customId, OpenAiStub.Response("resp_b" + customId, "completed", DecisionFor(customId), customId)));
                    else if (id == "file-err1" && rejected)
                        output.Add(OpenAiStub.OutputLine(customId, statusCode: 400, responseBody: OpenAiStub.Error("This model's maximum context length is 400000 tokens.", "invalid_request_error", "context_length_exceeded", "input")));
                }

                return OpenAiStub.Write(context, 200, string.Join('\n', output) + "\n");
            });
        });
        await using var host = await LlmJobHost.StartAsync(_database, _broker, TimeSpan.FromSeconds(1), OpenAiSettings(stub));
        var jobId = NewId.NextGuid();

        await host.Services.GetRequiredService<IBus>().Publish(Job(jobId, LlmJobMode.Batch, items: 5, rejectedItem: 3));

        var job = await host.WaitForJobAsync(jobId, j => j.Status is LlmJobStatus.Completed or LlmJobStatus.Failed, TimeSpan.FromSeconds(90));
        Assert.Equal(LlmJobStatus.Completed, job.Status);
        Assert.Equal((5, 5, 4, 1, 0), (job.TotalItems, job.ProcessedItems, job.SucceededItems, job.FailedItems, job.CancelledItems));
        Assert.Equal("Completed", await host.WaitForSagaAsync(jobId, "Completed", TimeSpan.FromSeconds(30)));

        var upload = Assert.Single(uploads);
        Assert.Equal("batch", upload.Purpose);
        Assert.Equal(5, upload.Content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(1, batchesCreated);
        Assert.True(batchPolls >= 2, $"the batch was polled {batchPolls} time(s); it reports completed only from the second poll");

        var batch = Assert.Single(await host.QueryAsync(db => db.Set<LlmJobBatch>().AsNoTracking().Where(b => b.JobId == jobId).ToListAsync()));
        Assert.Equal(("batch_e2e1", "completed", 5, "file-input1", "file-out1", "file-err1", true),
            (batch.BatchId, batch.Status, batch.ItemCount, batch.InputFileId, batch.OutputFileId, batch.ErrorFileId, batch.ResultsApplied));

        var items = await host.QueryAsync(db => db.Set<LlmJobItem>().AsNoTracking().Where(i => i.JobId == jobId).ToListAsync());
        Assert.All(items, item => Assert.Equal("batch_e2e1", item.ProviderBatchId));
        var failed = Assert.Single(items, i => i.Status == LlmJobItemStatus.Failed);
        Assert.Equal("i3", failed.ItemId);
        Assert.Contains("context_length_exceeded", failed.Error, StringComparison.Ordinal);
        Assert.All(items.Where(i => i.ItemId != "i3"), item =>
        {
            Assert.Equal(LlmJobItemStatus.Succeeded, item.Status);
            Assert.Equal(item.ItemId is "i1" or "i5", item.Flagged);
        });

        var flags = await host.QueryAsync(db => db.Set<EntityFlag>().AsNoTracking().Where(f => f.JobId == jobId).OrderBy(f => f.ItemId).Select(f => new { f.ItemId, f.Flagged, f.Simulated }).ToListAsync());
        Assert.Equal(["i1", "i2", "i4", "i5"], flags.Select(f => f.ItemId));
        Assert.All(flags, flag => Assert.Equal(flag.ItemId is "i1" or "i5", flag.Flagged));
        Assert.All(flags, flag => Assert.False(flag.Simulated));
    }
}
