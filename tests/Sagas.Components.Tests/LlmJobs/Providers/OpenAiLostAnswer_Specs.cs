using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Sagas.Components.Tests.Infrastructure;
using Sagas.LlmJobs.Providers;

namespace Sagas.Components.Tests.LlmJobs.Providers;

/// <summary>
/// OpenAI creates the batch but its answer never arrives (the first create is held until the client gives up). The
/// batch carries our reference in its metadata and OpenAI lists batches, so the provider finds it instead of paying for
/// a second one.
/// </summary>
public sealed class When_the_answer_to_a_batch_create_is_lost : IAsyncLifetime
{
    private const string Reference = "job-1:claim-1:0";

    private readonly ConcurrentQueue<string> _created = new();
    private readonly ConcurrentDictionary<string, string> _batches = new();
    private HttpStub _stub = null!;
    private LlmBatchSubmission _submission = null!;

    public async Task InitializeAsync()
    {
        var creates = 0;
        _stub = await HttpStub.StartAsync(app =>
        {
            app.MapPost("/v1/files", async (HttpContext context) =>
            {
                var form = await context.Request.ReadFormAsync();
                await OpenAiStub.Write(context, 200, OpenAiStub.File("file-input" + form.Files["file"]!.Length, form.Files["file"]!.Length));
            });
            app.MapPost("/v1/batches", async (HttpContext context) =>
            {
                using var body = await JsonDocument.ParseAsync(context.Request.Body);
                var reference = body.RootElement.GetProperty("metadata").GetProperty("reference").GetString()!;
                var id = $"batch_{Interlocked.Increment(ref creates):D4}";
                _batches[id] = OpenAiStub.Batch(id, "validating", total: 2, reference: reference, createdAt: DateTimeOffset.UtcNow.ToUnixTimeSeconds());
                _created.Enqueue(id);
                if (creates == 1)
                {
                    // Created, but the answer is lost: held until the client stops waiting.
                    await HoldUntilAbortedAsync(context);
                    return;
                }

                await OpenAiStub.Write(context, 200, _batches[id]);
            });
            app.MapGet("/v1/batches", context => OpenAiStub.Write(context, 200, OpenAiStub.BatchList([.. _batches.OrderByDescending(b => b.Key).Select(b => b.Value)])));
            app.MapGet("/v1/batches/{id}", (HttpContext context, string id) => OpenAiStub.Write(context, 200, _batches[id]));
        });

        var provider = OpenAiStub.Provider(_stub.BaseAddress, options =>
        {
            options.RequestTimeout = TimeSpan.FromSeconds(1);
            options.Retry = new LlmRetrySettings { MaxRetryAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromSeconds(1) };
        });
        _submission = await provider.SubmitBatchAsync(new LlmBatchRequest(Reference, [OpenAiStub.Item("item-1"), OpenAiStub.Item("item-2")]), CancellationToken.None);
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    /// <summary>Answers nothing until the client gives up on the request.</summary>
    internal static async Task HoldUntilAbortedAsync(HttpContext context)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }
    }

    [Fact]
    public void Should_create_one_batch_and_return_it()
    {
        var created = Assert.Single(_created);
        Assert.Equal(created, _submission.BatchId);
        Assert.Equal(2, _submission.ItemCount);
    }

    [Fact]
    public void Should_have_looked_the_batch_up_by_its_reference()
    {
        Assert.Contains(_stub.Requests, r => r.Method == "GET" && (r.Path == "/v1/batches" || r.Path.StartsWith("/v1/batches?", StringComparison.Ordinal)));
        Assert.Equal(1, _stub.Count("POST", "/v1/batches"));
    }
}

/// <summary>
/// OpenAI accepts a background response but the answer never arrives. The Responses API has no idempotency key and no
/// list to look the response up in, so a second create would be a second billed response nobody reads: the provider
/// reports the outcome as unknown instead of creating again.
/// </summary>
public sealed class When_the_answer_to_a_background_create_is_lost : IAsyncLifetime
{
    private HttpStub _stub = null!;
    private LlmProviderException? _failure;

    public async Task InitializeAsync()
    {
        var creates = 0;
        _stub = await HttpStub.StartAsync(app => app.MapPost("/v1/responses", async (HttpContext context) =>
        {
            if (Interlocked.Increment(ref creates) == 1)
            {
                await When_the_answer_to_a_batch_create_is_lost.HoldUntilAbortedAsync(context);
                return;
            }

            await OpenAiStub.Write(context, 200, OpenAiStub.Response("resp_second", "queued", itemId: "item-1"));
        }));

        var provider = OpenAiStub.Provider(_stub.BaseAddress, options =>
        {
            options.RequestTimeout = TimeSpan.FromSeconds(1);
            options.Retry = new LlmRetrySettings { MaxRetryAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromSeconds(1) };
        });
        try
        {
            await provider.SubmitItemAsync(OpenAiStub.Item("item-1"), CancellationToken.None);
        }
        catch (LlmProviderException exception)
        {
            _failure = exception;
        }
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public void Should_send_the_create_once()
    {
        Assert.Equal(1, _stub.Count("POST", "/v1/responses"));
    }

    [Fact]
    public void Should_report_a_transient_failure_without_an_answer()
    {
        Assert.NotNull(_failure);
        Assert.True(_failure.IsTransient);
        Assert.Null(_failure.Error.StatusCode);
    }
}
