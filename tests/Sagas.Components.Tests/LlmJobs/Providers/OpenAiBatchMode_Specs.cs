using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Core.Http;
using Sagas.LlmJobs.Providers;

namespace Sagas.Components.Tests.LlmJobs.Providers;

public sealed class When_a_batch_is_submitted_and_completes : IAsyncLifetime
{
    private readonly ConcurrentQueue<(string Purpose, string FileName, string Content)> _uploads = new();
    private HttpStub _stub = null!;
    private LlmBatchSubmission _submission = null!;
    private LlmBatchStatus _running = null!;
    private LlmBatchStatus _completed = null!;
    private LlmBatchResults _results = null!;

    public async Task InitializeAsync()
    {
        var polls = 0;
        _stub = await HttpStub.StartAsync(app =>
        {
            app.MapPost("/v1/files", async (HttpContext context) =>
            {
                var form = await context.Request.ReadFormAsync();
                var file = form.Files["file"]!;
                using var reader = new StreamReader(file.OpenReadStream());
                _uploads.Enqueue((form["purpose"].ToString(), file.FileName, await reader.ReadToEndAsync()));
                await OpenAiStub.Write(context, 200, OpenAiStub.File("file-input1", file.Length, file.FileName));
            });
            app.MapPost("/v1/batches", context => OpenAiStub.Write(context, 200, OpenAiStub.Batch("batch_0001", "validating")));
            app.MapGet("/v1/batches/{id}", (HttpContext context, string id) => Interlocked.Increment(ref polls) == 1
                ? OpenAiStub.Write(context, 200, OpenAiStub.Batch(id, "in_progress", total: 3, completed: 1))
                : OpenAiStub.Write(context, 200, OpenAiStub.Batch(id, "completed", total: 3, completed: 2, failed: 1, outputFileId: "file-out1", errorFileId: "file-err1")));
            app.MapGet("/v1/files/file-out1/content", context => OpenAiStub.Write(
                context,
                200,
                OpenAiStub.OutputLine("item-2", OpenAiStub.Response("resp_b2", "completed", OpenAiStub.Decision(flagged: false, category: "none", confidence: 0.81, reason: "Ordinary text."), itemId: "item-2")) + "\n" +
                OpenAiStub.OutputLine("item-1", OpenAiStub.Response("resp_b1", "completed", OpenAiStub.Decision(), itemId: "item-1")) + "\n"));
            app.MapGet("/v1/files/file-err1/content", context => OpenAiStub.Write(
                context,
                200,
                OpenAiStub.OutputLine("item-3", OpenAiStub.Error("This model's maximum context length is 400000 tokens.", "invalid_request_error", "context_length_exceeded", "input"), statusCode: 400) + "\n"));
        });

        var provider = OpenAiStub.Provider(_stub.BaseAddress);
        var items = new[] { OpenAiStub.Item("item-1"), OpenAiStub.Item("item-2", "Lovely weather today."), OpenAiStub.Item("item-3", "A very long text") };
        _submission = await provider.SubmitBatchAsync(new LlmBatchRequest("job-1/1", items), CancellationToken.None);
        _running = await provider.GetBatchAsync(_submission.BatchId, CancellationToken.None);
        _completed = await provider.GetBatchAsync(_submission.BatchId, CancellationToken.None);
        _results = await provider.ReadBatchResultsAsync(_completed, CancellationToken.None);
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public void Should_upload_one_jsonl_line_per_item_for_the_batch_purpose()
    {
        var upload = Assert.Single(_uploads);
        Assert.Equal("batch", upload.Purpose);
        Assert.EndsWith(".jsonl", upload.FileName, StringComparison.Ordinal);

        var lines = upload.Content.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        var line = first.RootElement;
        Assert.Equal("item-1", line.GetProperty("custom_id").GetString());
        Assert.Equal("POST", line.GetProperty("method").GetString());
        Assert.Equal("/v1/responses", line.GetProperty("url").GetString());
        var body = line.GetProperty("body");
        Assert.Equal("gpt-6-luna", body.GetProperty("model").GetString());
        Assert.False(body.TryGetProperty("background", out _));
        Assert.False(body.GetProperty("store").GetBoolean());
        Assert.True(body.GetProperty("text").GetProperty("format").GetProperty("strict").GetBoolean());
    }

    [Fact]
    public void Should_create_the_batch_on_the_responses_endpoint_with_a_24h_window()
    {
        var create = Assert.Single(_stub.Requests, r => r.Method == "POST" && r.Path == "/v1/batches");
        using var body = JsonDocument.Parse(create.Body);
        Assert.Equal("file-input1", body.RootElement.GetProperty("input_file_id").GetString());
        Assert.Equal("/v1/responses", body.RootElement.GetProperty("endpoint").GetString());
        Assert.Equal("24h", body.RootElement.GetProperty("completion_window").GetString());
        Assert.Equal("job-1/1", body.RootElement.GetProperty("metadata").GetProperty("reference").GetString());

        Assert.Equal("batch_0001", _submission.BatchId);
        Assert.Equal("file-input1", _submission.InputFileId);
        Assert.Equal(LlmBatchState.Validating, _submission.Status.State);
    }

    [Fact]
    public void Should_read_status_counts_and_file_ids()
    {
        Assert.Equal(LlmBatchState.InProgress, _running.State);
        Assert.Equal(new LlmBatchRequestCounts(3, 1, 0), _running.RequestCounts);
        Assert.Null(_running.OutputFileId);

        Assert.Equal(LlmBatchState.Completed, _completed.State);
        Assert.True(_completed.State.IsTerminal());
        Assert.Equal(new LlmBatchRequestCounts(3, 2, 1), _completed.RequestCounts);
        Assert.Equal("file-out1", _completed.OutputFileId);
        Assert.Equal("file-err1", _completed.ErrorFileId);
    }

    [Fact]
    public void Should_match_output_lines_to_items_by_custom_id()
    {
        var byId = _results.Items.ToDictionary(i => i.ItemId);
        Assert.Equal(LlmItemStatus.Succeeded, byId["item-1"].Status);
        Assert.Equal(new FlagDecision(true, "spam", 0.93, "Advertises counterfeit goods."), byId["item-1"].Decision);
        Assert.Equal(new LlmTokenUsage(182, 41), byId["item-1"].Usage);
        Assert.Equal(new FlagDecision(false, "none", 0.81, "Ordinary text."), byId["item-2"].Decision);
        Assert.Empty(_results.UnattributedLines);
    }

    [Fact]
    public void Should_fail_error_file_lines_with_the_line_status_and_error()
    {
        var failed = Assert.Single(_results.Items, i => i.ItemId == "item-3");
        Assert.Equal(LlmItemStatus.Failed, failed.Status);
        Assert.Equal(new LlmProviderError(LlmErrorKind.Permanent, "context_length_exceeded", "This model's maximum context length is 400000 tokens.", 400), failed.Error);
    }
}

public sealed class When_a_batch_expired_with_partial_output : IAsyncLifetime
{
    private HttpStub _stub = null!;
    private LlmBatchStatus _status = null!;
    private LlmBatchResults _results = null!;

    public async Task InitializeAsync()
    {
        _stub = await HttpStub.StartAsync(app =>
        {
            app.MapGet("/v1/batches/{id}", (HttpContext context, string id) =>
                OpenAiStub.Write(context, 200, OpenAiStub.Batch(id, "expired", total: 4, completed: 1, failed: 0, outputFileId: "file-out2", errorFileId: "file-err2")));
            app.MapGet("/v1/files/file-out2/content", context => OpenAiStub.Write(
                context, 200, OpenAiStub.OutputLine("item-1", OpenAiStub.Response("resp_b1", "completed", OpenAiStub.Decision())) + "\n"));
            app.MapGet("/v1/files/file-err2/content", context => OpenAiStub.Write(
                context,
                200,
                OpenAiStub.ErrorLine("item-2", "batch_expired", "This request could not be executed before the completion window expired.") + "\n" +
                OpenAiStub.ErrorLine("item-3", "batch_expired", "This request could not be executed before the completion window expired.") + "\n"));
        });
        var provider = OpenAiStub.Provider(_stub.BaseAddress);
        _status = await provider.GetBatchAsync("batch_0002", CancellationToken.None);
        _results = await provider.ReadBatchResultsAsync(_status, CancellationToken.None);
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public void Should_be_terminal_and_expired() => Assert.Equal(LlmBatchState.Expired, _status.State);

    [Fact]
    public void Should_keep_the_finished_lines_as_succeeded()
    {
        var finished = Assert.Single(_results.Items, i => i.Status == LlmItemStatus.Succeeded);
        Assert.Equal("item-1", finished.ItemId);
        Assert.True(finished.Decision!.Flagged);
    }

    [Fact]
    public void Should_fail_the_unfinished_lines_as_transient_batch_expired()
    {
        var expired = _results.Items.Where(i => i.Status == LlmItemStatus.Failed).OrderBy(i => i.ItemId).ToList();
        Assert.Equal(["item-2", "item-3"], expired.Select(i => i.ItemId));
        Assert.All(expired, i =>
        {
            Assert.Equal(LlmErrorCodes.BatchExpired, i.Error!.Code);
            Assert.True(i.Error.IsTransient);
        });
    }

    [Fact]
    public void Should_name_the_items_no_file_mentions() =>
        Assert.Equal(["item-4"], _results.MissingItems(["item-1", "item-2", "item-3", "item-4"]));
}

public sealed class When_batch_files_contain_malformed_lines : IAsyncLifetime
{
    private HttpStub _stub = null!;
    private LlmBatchResults _results = null!;

    public async Task InitializeAsync()
    {
        var output = string.Join('\n',
            "this is not json",
            """{"id":"batch_req_x","response":{"status_code":200,"body":{}},"error":null}""",
            """{"id":"batch_req_a","custom_id":"item-a","response":{"status_code":"200","body":{}},"error":null}""",
            """{"id":"batch_req_b","custom_id":"item-b","response":{"status_code":200,"body":{"id":5,"status":[]}},"error":null}""",
            OpenAiStub.OutputLine("item-c", OpenAiStub.Response("resp_c", "completed", "{\"flagged\":\"yes\"}")),
            "",
            OpenAiStub.OutputLine("item-d", OpenAiStub.Response("resp_d", "completed", OpenAiStub.Decision())),
            """{"id":"batch_req_e","custom_id":"item-e","response":{"status_code":200,"bo""");
        _stub = await HttpStub.StartAsync(app =>
            app.MapGet("/v1/files/file-out3/content", context => OpenAiStub.Write(context, 200, output)));
        var provider = OpenAiStub.Provider(_stub.BaseAddress);
        var status = new LlmBatchStatus("batch_0003", LlmBatchState.Completed, "completed", new LlmBatchRequestCounts(6, 6, 0), "file-out3", null, [], RateLimitSnapshot.None(DateTimeOffset.UtcNow));
        _results = await provider.ReadBatchResultsAsync(status, CancellationToken.None);
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public void Should_report_lines_without_an_item_with_their_line_numbers()
    {
        Assert.Equal([1, 2, 8], _results.UnattributedLines.Select(l => l.LineNumber));
        Assert.All(_results.UnattributedLines, l => Assert.Equal("file-out3", l.FileId));
        Assert.Contains("no custom_id", _results.UnattributedLines[1].Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_fail_items_whose_line_cannot_be_read()
    {
        var byId = _results.Items.ToDictionary(i => i.ItemId);
        Assert.Equal(LlmErrorCodes.MalformedBatchLine, byId["item-a"].Error!.Code);
        Assert.Equal(LlmErrorCodes.MalformedBatchLine, byId["item-b"].Error!.Code);
        Assert.Equal(LlmErrorCodes.InvalidOutput, byId["item-c"].Error!.Code);
        Assert.All([byId["item-a"], byId["item-b"], byId["item-c"]], i => Assert.Equal(LlmItemStatus.Failed, i.Status));
    }

    [Fact]
    public void Should_still_read_the_good_lines_after_bad_ones() =>
        Assert.Equal(LlmItemStatus.Succeeded, _results.Items.Single(i => i.ItemId == "item-d").Status);
}

public sealed class When_a_batch_is_cancelled_or_fails_validation : IAsyncLifetime
{
    private HttpStub _stub = null!;
    private Sagas.LlmJobs.Providers.OpenAi.OpenAiLlmJobProvider _provider = null!;

    public async Task InitializeAsync()
    {
        _stub = await HttpStub.StartAsync(app =>
        {
            app.MapGet("/v1/batches/{id}", (HttpContext context, string id) => id switch
            {
                "batch_invalid" => OpenAiStub.Write(context, 200, OpenAiStub.Batch(id, "failed", errors: new
                {
                    @object = "list",
                    data = new[] { new { code = "invalid_json_line", message = "This line is not parseable as valid JSON.", param = (string?)null, line = 2 } },
                })),
                "batch_done" => OpenAiStub.Write(context, 200, OpenAiStub.Batch(id, "completed", total: 1, completed: 1, outputFileId: "file-out")),
                _ => OpenAiStub.Write(context, 200, OpenAiStub.Batch(id, "in_progress", total: 10, completed: 4)),
            });
            app.MapPost("/v1/batches/{id}/cancel", (HttpContext context, string id) => id == "batch_done"
                ? OpenAiStub.Write(context, 400, OpenAiStub.Error("Cannot cancel a batch with status 'completed'.", "invalid_request_error", null))
                : OpenAiStub.Write(context, 200, OpenAiStub.Batch(id, "cancelling", total: 10, completed: 4)));
        });
        _provider = OpenAiStub.Provider(_stub.BaseAddress);
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public async Task Should_post_cancel_and_report_cancelling()
    {
        var status = await _provider.CancelBatchAsync("batch_running", CancellationToken.None);
        Assert.Equal(LlmBatchState.Cancelling, status.State);
        Assert.False(status.State.IsTerminal());
        Assert.Equal(1, _stub.Count("POST", "/v1/batches/batch_running/cancel"));
    }

    [Fact]
    public async Task Should_report_where_a_finished_batch_ended_instead_of_failing_to_cancel()
    {
        var status = await _provider.CancelBatchAsync("batch_done", CancellationToken.None);
        Assert.Equal(LlmBatchState.Completed, status.State);
    }

    [Fact]
    public async Task Should_surface_batch_level_validation_errors()
    {
        var status = await _provider.GetBatchAsync("batch_invalid", CancellationToken.None);
        Assert.Equal(LlmBatchState.Failed, status.State);
        var error = Assert.Single(status.Errors);
        Assert.Equal("invalid_json_line", error.Code);
        Assert.Contains("(line 2)", error.Message, StringComparison.Ordinal);
    }
}

public sealed class When_items_are_planned_into_batches
{
    [Fact]
    public void Should_cut_at_the_item_limit_keeping_order()
    {
        var provider = OpenAiStub.Provider(new Uri("http://127.0.0.1:9/"), o => o.MaxItemsPerBatch = 2);
        var items = Enumerable.Range(1, 5).Select(i => OpenAiStub.Item($"item-{i}")).ToList();

        var chunks = provider.PlanBatches(items);

        Assert.Equal([2, 2, 1], chunks.Select(c => c.Count));
        Assert.Equal(items.Select(i => i.ItemId), chunks.SelectMany(c => c).Select(i => i.ItemId));
    }

    [Fact]
    public void Should_cut_at_the_file_size_limit()
    {
        var provider = OpenAiStub.Provider(new Uri("http://127.0.0.1:9/"), o => o.MaxBatchFileBytes = 3000);
        var items = Enumerable.Range(1, 5).Select(i => OpenAiStub.Item($"item-{i}", new string('x', 900))).ToList();

        var chunks = provider.PlanBatches(items);

        Assert.True(chunks.Count > 1);
        Assert.Equal(5, chunks.Sum(c => c.Count));
    }

    [Fact]
    public void Should_refuse_an_item_that_alone_exceeds_the_file_size()
    {
        var provider = OpenAiStub.Provider(new Uri("http://127.0.0.1:9/"), o => o.MaxBatchFileBytes = 3000);
        var ex = Assert.Throws<ArgumentException>(() => provider.PlanBatches([OpenAiStub.Item("huge", new string('x', 5000))]));
        Assert.Contains("huge", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dup", "dup")]
    [InlineData("ok", "an-item-id-that-is-far-too-long-to-be-a-custom-id-because-it-has-more-than-64-chars")]
    public async Task Should_refuse_duplicate_or_overlong_item_ids_before_sending_anything(string first, string second)
    {
        await using var stub = await HttpStub.StartAsync(_ => { });
        var provider = OpenAiStub.Provider(stub.BaseAddress);

        await Assert.ThrowsAsync<ArgumentException>(() =>
            provider.SubmitBatchAsync(new LlmBatchRequest("job", [OpenAiStub.Item(first), OpenAiStub.Item(second)]), CancellationToken.None));
        Assert.Empty(stub.Requests);
    }
}

public sealed class When_a_batch_output_file_arrives_in_small_pieces : IAsyncLifetime
{
    private const int Lines = 2_000;
    private HttpStub _stub = null!;
    private string _output = "";
    private LlmBatchResults _results = null!;

    public async Task InitializeAsync()
    {
        _output = string.Join('\n', Enumerable.Range(0, Lines).Select(i => i % 97 == 5
            ? "not json at all"
            : OpenAiStub.OutputLine($"item-{i}", OpenAiStub.Response($"resp_{i}", "completed", OpenAiStub.Decision(), itemId: $"item-{i}")))) + "\r\n";
        _stub = await HttpStub.StartAsync(app =>
            app.MapGet("/v1/files/file-out4/content", async context =>
            {
                // Pieces that cut lines (and the CR before the last LF) anywhere, each flushed on its own.
                var bytes = System.Text.Encoding.UTF8.GetBytes(_output);
                context.Response.ContentType = "application/octet-stream";
                for (var offset = 0; offset < bytes.Length; offset += 1 + (offset % 13))
                {
                    await context.Response.Body.WriteAsync(bytes.AsMemory(offset, Math.Min(1 + (offset % 13), bytes.Length - offset)));
                    if (offset % 5 == 0)
                        await context.Response.Body.FlushAsync();
                }
            }));
        var provider = OpenAiStub.Provider(_stub.BaseAddress);
        var status = new LlmBatchStatus("batch_0004", LlmBatchState.Completed, "completed", new LlmBatchRequestCounts(Lines, Lines, 0), "file-out4", null, [], RateLimitSnapshot.None(DateTimeOffset.UtcNow));
        _results = await provider.ReadBatchResultsAsync(status, CancellationToken.None);
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public void Should_read_every_line_as_the_whole_file_would_be_read()
    {
        var bad = Enumerable.Range(0, Lines).Where(i => i % 97 == 5).ToList();

        Assert.Equal(Enumerable.Range(0, Lines).Except(bad).Select(i => $"item-{i}").Order(), _results.Items.Select(i => i.ItemId).Order());
        Assert.All(_results.Items, i => Assert.Equal(LlmItemStatus.Succeeded, i.Status));
        Assert.Equal(bad.Select(i => i + 1), _results.UnattributedLines.Select(l => l.LineNumber));
    }
}
