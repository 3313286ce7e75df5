using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Sagas.Components.Tests.Infrastructure;
using Sagas.LlmJobs.Providers;

namespace Sagas.Components.Tests.LlmJobs.Providers;

public sealed class When_an_item_is_submitted_in_background_mode : IAsyncLifetime
{
    private HttpStub _stub = null!;
    private LlmItemSubmission _submission = null!;

    public async Task InitializeAsync()
    {
        _stub = await HttpStub.StartAsync(app =>
            app.MapPost("/v1/responses", context => OpenAiStub.Write(context, 200, OpenAiStub.Response("resp_0001", "queued"))));
        _submission = await OpenAiStub.Provider(_stub.BaseAddress).SubmitItemAsync(OpenAiStub.Item("item-1"), CancellationToken.None);
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public void Should_return_the_response_id_as_the_task_id_and_queued()
    {
        Assert.Equal("resp_0001", _submission.ProviderTaskId);
        Assert.Equal(LlmItemStatus.Queued, _submission.Status);
    }

    [Fact]
    public void Should_ask_for_a_stored_background_response_with_the_strict_decision_schema()
    {
        var request = Assert.Single(_stub.Requests);
        Assert.Equal("/v1/responses", request.Path);
        Assert.Equal("Bearer " + OpenAiStub.ApiKey, request.Headers["Authorization"]);

        using var body = JsonDocument.Parse(request.Body);
        var root = body.RootElement;
        Assert.True(root.GetProperty("background").GetBoolean());
        Assert.True(root.GetProperty("store").GetBoolean());
        Assert.Equal("gpt-6-luna", root.GetProperty("model").GetString());
        Assert.Equal("Decide whether the text must be flagged.", root.GetProperty("instructions").GetString());
        Assert.Equal("item-1", root.GetProperty("metadata").GetProperty("item_id").GetString());
        Assert.Contains("Buy cheap watches", root.GetProperty("input").GetRawText(), StringComparison.Ordinal);

        var format = root.GetProperty("text").GetProperty("format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal(FlagDecision.SchemaName, format.GetProperty("name").GetString());
        Assert.True(format.GetProperty("strict").GetBoolean());
        Assert.False(format.GetProperty("schema").GetProperty("additionalProperties").GetBoolean());
        Assert.Equal(4, format.GetProperty("schema").GetProperty("required").GetArrayLength());
    }
}

public sealed class When_a_background_response_is_polled_until_it_completes : IAsyncLifetime
{
    private HttpStub _stub = null!;
    private readonly List<LlmItemOutcome> _outcomes = [];

    public async Task InitializeAsync()
    {
        var polls = 0;
        _stub = await HttpStub.StartAsync(app => app.MapGet("/v1/responses/{id}", (HttpContext context, string id) =>
            Interlocked.Increment(ref polls) switch
            {
                1 => OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "queued")),
                2 => OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "in_progress"), ("x-ratelimit-remaining-requests", "9998")),
                _ => OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "completed", OpenAiStub.Decision())),
            }));

        var provider = OpenAiStub.Provider(_stub.BaseAddress);
        for (var i = 0; i < 3; i++)
            _outcomes.Add(await provider.GetItemAsync("resp_0001", CancellationToken.None));
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public void Should_report_queued_then_in_progress_then_succeeded()
    {
        Assert.Equal([LlmItemStatus.Queued, LlmItemStatus.InProgress, LlmItemStatus.Succeeded], _outcomes.Select(o => o.Status));
        Assert.Equal(["queued", "in_progress", "completed"], _outcomes.Select(o => o.ProviderStatus));
        Assert.All(_stub.Requests, r => Assert.Equal("/v1/responses/resp_0001", r.Path));
    }

    [Fact]
    public void Should_parse_the_decision_and_the_usage()
    {
        var completed = _outcomes[^1];
        Assert.Equal(new FlagDecision(true, "spam", 0.93, "Advertises counterfeit goods."), completed.Decision);
        Assert.Equal(new LlmTokenUsage(182, 41), completed.Usage);
        Assert.Null(completed.Error);
    }

    [Fact]
    public void Should_surface_the_rate_limit_headers_of_each_answer()
    {
        Assert.Equal(9998, _outcomes[1].RateLimit.RemainingRequests);
        Assert.True(_outcomes[0].RateLimit.IsEmpty);
    }
}

public sealed class When_a_background_response_ends_badly : IAsyncLifetime
{
    private HttpStub _stub = null!;
    private Sagas.LlmJobs.Providers.OpenAi.OpenAiLlmJobProvider _provider = null!;

    public async Task InitializeAsync()
    {
        _stub = await HttpStub.StartAsync(app => app.MapGet("/v1/responses/{id}", (HttpContext context, string id) => id switch
        {
            "resp_failed" => OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "failed", error: new { code = "server_error", message = "The model crashed." })),
            "resp_invalid_prompt" => OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "failed", error: new { code = "invalid_prompt", message = "Prompt rejected." })),
            "resp_incomplete" => OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "incomplete", outputText: "{\"flagged\": tr", incompleteDetails: new { reason = "max_output_tokens" })),
            "resp_cancelled" => OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "cancelled")),
            "resp_not_a_decision" => OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "completed", outputText: "{\"flagged\":true,\"category\":\"spam\",\"confidence\":7,\"reason\":\"x\"}")),
            "resp_prose" => OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "completed", outputText: "I think this is spam.")),
            "resp_refusal" => OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "completed", refusal: "I can't help with that.")),
            _ => OpenAiStub.Write(context, 404, OpenAiStub.Error($"Response with id '{id}' not found.", "invalid_request_error", null, "response_id")),
        }));
        _provider = OpenAiStub.Provider(_stub.BaseAddress);
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public async Task Should_fail_a_failed_response_with_the_provider_error_and_its_classification()
    {
        var outcome = await _provider.GetItemAsync("resp_failed", CancellationToken.None);
        Assert.Equal(LlmItemStatus.Failed, outcome.Status);
        Assert.Equal(new LlmProviderError(LlmErrorKind.Transient, "server_error", "The model crashed."), outcome.Error);

        var rejected = await _provider.GetItemAsync("resp_invalid_prompt", CancellationToken.None);
        Assert.Equal(LlmErrorKind.Permanent, rejected.Error!.Kind);
        Assert.Equal("invalid_prompt", rejected.Error.Code);
    }

    [Fact]
    public async Task Should_fail_an_incomplete_response_permanently_naming_the_reason()
    {
        var outcome = await _provider.GetItemAsync("resp_incomplete", CancellationToken.None);
        Assert.Equal(LlmItemStatus.Failed, outcome.Status);
        Assert.Equal("incomplete", outcome.ProviderStatus);
        Assert.Equal(LlmErrorCodes.Incomplete, outcome.Error!.Code);
        Assert.Contains("max_output_tokens", outcome.Error.Message, StringComparison.Ordinal);
        Assert.False(outcome.Error.IsTransient);
    }

    [Fact]
    public async Task Should_report_a_cancelled_response_as_cancelled()
    {
        var outcome = await _provider.GetItemAsync("resp_cancelled", CancellationToken.None);
        Assert.Equal(LlmItemStatus.Cancelled, outcome.Status);
        Assert.Null(outcome.Error);
    }

    [Theory]
    [InlineData("resp_not_a_decision", LlmErrorCodes.InvalidOutput, "confidence")]
    [InlineData("resp_prose", LlmErrorCodes.InvalidOutput, "not valid JSON")]
    [InlineData("resp_refusal", LlmErrorCodes.Refusal, "can't help")]
    public async Task Should_fail_a_completed_response_whose_answer_is_not_a_decision(string responseId, string code, string messagePart)
    {
        var outcome = await _provider.GetItemAsync(responseId, CancellationToken.None);
        Assert.Equal(LlmItemStatus.Failed, outcome.Status);
        Assert.Null(outcome.Decision);
        Assert.Equal(code, outcome.Error!.Code);
        Assert.Contains(messagePart, outcome.Error.Message, StringComparison.Ordinal);
        Assert.Equal(LlmErrorKind.Permanent, outcome.Error.Kind);
    }

    [Fact]
    public async Task Should_throw_a_permanent_not_found_for_an_unknown_response()
    {
        var ex = await Assert.ThrowsAsync<LlmProviderException>(() => _provider.GetItemAsync("resp_unknown", CancellationToken.None));
        Assert.Equal(404, ex.Error.StatusCode);
        Assert.False(ex.IsTransient);
        Assert.Contains("not found", ex.Error.Message, StringComparison.Ordinal);
    }
}

public sealed class When_a_background_response_is_cancelled : IAsyncLifetime
{
    private HttpStub _stub = null!;
    private LlmItemOutcome _cancelled = null!;
    private LlmItemOutcome _alreadyDone = null!;

    public async Task InitializeAsync()
    {
        _stub = await HttpStub.StartAsync(app =>
        {
            app.MapPost("/v1/responses/{id}/cancel", (HttpContext context, string id) => id == "resp_running"
                ? OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "cancelled"))
                : OpenAiStub.Write(context, 400, OpenAiStub.Error("Cannot cancel a completed response.", "invalid_request_error", null)));
            app.MapGet("/v1/responses/{id}", (HttpContext context, string id) => OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "completed", OpenAiStub.Decision(flagged: false, category: "none"))));
        });
        var provider = OpenAiStub.Provider(_stub.BaseAddress);
        _cancelled = await provider.CancelItemAsync("resp_running", CancellationToken.None);
        _alreadyDone = await provider.CancelItemAsync("resp_done", CancellationToken.None);
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public void Should_post_cancel_and_report_cancelled()
    {
        Assert.Equal(LlmItemStatus.Cancelled, _cancelled.Status);
        Assert.Equal(1, _stub.Count("POST", "/v1/responses/resp_running/cancel"));
    }

    [Fact]
    public void Should_return_the_final_outcome_when_the_response_already_finished()
    {
        Assert.Equal(LlmItemStatus.Succeeded, _alreadyDone.Status);
        Assert.False(_alreadyDone.Decision!.Flagged);
        Assert.Equal(1, _stub.Count("GET", "/v1/responses/resp_done"));
    }
}
