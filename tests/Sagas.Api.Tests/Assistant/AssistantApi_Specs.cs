using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Api.Tests.Hosting;
using Sagas.Components.Tests.Infrastructure;
using Sagas.LlmJobs.Data;
using Sagas.Persistence;

namespace Sagas.Api.Tests.Assistant;

/// <summary>The embedded default: the simulated assistant over the embedded database.</summary>
public sealed class When_the_simulated_assistant_is_asked(EmbeddedApi api) : IClassFixture<EmbeddedApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_count_jobs_of_the_period_and_list_the_failures_from_tool_results()
    {
        var now = DateTimeOffset.UtcNow;
        await SeedAsync(
            Job(LlmJobStatus.Failed, now.AddHours(-1), "insufficient_quota: You exceeded your current quota."),
            Job(LlmJobStatus.Failed, now.AddHours(-2), "invalid_api_key"),
            Job(LlmJobStatus.Completed, now.AddHours(-3)),
            Job(LlmJobStatus.Failed, now.AddDays(-60), "long ago"));

        var answer = await AskAsync("How many LLM jobs failed in the last 7 days?");

        Assert.True(answer.GetProperty("simulated").GetBoolean());
        Assert.StartsWith("[simulated", answer.GetProperty("answer").GetString(), StringComparison.Ordinal);
        var calls = answer.GetProperty("toolCalls").EnumerateArray().ToList();
        var count = calls.Single(c => c.GetProperty("name").GetString() == "count_llm_jobs");
        Assert.Equal("last_7_days", count.GetProperty("arguments").GetProperty("period").GetString());
        Assert.Equal(3, count.GetProperty("result").GetProperty("total").GetInt32());
        Assert.Equal(2, count.GetProperty("result").GetProperty("byStatus").GetProperty("failed").GetInt32());
        Assert.Contains("3 (2 failed, 1 completed)", answer.GetProperty("answer").GetString(), StringComparison.Ordinal);

        var failures = calls.Single(c => c.GetProperty("name").GetString() == "recent_failures");
        Assert.Equal("llm_jobs", failures.GetProperty("arguments").GetProperty("source").GetString());
        Assert.Contains("insufficient_quota", answer.GetProperty("answer").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_stream_tool_calls_words_and_then_the_whole_answer_as_server_sent_events()
    {
        var now = DateTimeOffset.UtcNow;
        await SeedAsync(Job(LlmJobStatus.Failed, now.AddHours(-1), "streamed: provider timeout"), Job(LlmJobStatus.Completed, now.AddHours(-2)));

        using var response = await _client.AskStreamingAsync("How many LLM jobs failed in the last 7 days?");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await response.AllEventsAsync();
        var types = events.Select(e => e.Type).ToList();
        Assert.Equal("done", types[^1]);
        Assert.True(types.IndexOf("tool_call") < types.IndexOf("tool_result"), string.Join(",", types));
        Assert.True(types.LastIndexOf("tool_result") < types.IndexOf("token"), string.Join(",", types));
        Assert.True(types.Count(t => t == "token") > 1, "the answer arrives in pieces");

        var calls = events.Where(e => e.Type == "tool_call").Select(e => e.Data).ToList();
        Assert.Equal(new[] { "count_llm_jobs", "recent_failures" }, calls.Select(c => c.GetProperty("name").GetString()).ToArray());
        var results = events.Where(e => e.Type == "tool_result").Select(e => e.Data).ToList();
        Assert.Equal(calls.Select(c => c.GetProperty("id").GetString()), results.Select(r => r.GetProperty("id").GetString()));

        var done = events[^1].Data;
        var written = string.Concat(events.Where(e => e.Type == "token").Select(e => e.Data.GetProperty("text").GetString()));
        Assert.Equal(done.GetProperty("answer").GetString(), written);
        Assert.Contains("streamed: provider timeout", written, StringComparison.Ordinal);
        Assert.Equal(2, done.GetProperty("toolCalls").GetArrayLength());
        Assert.True(done.GetProperty("simulated").GetBoolean());
    }

    [Fact]
    public async Task Should_answer_a_bad_question_with_problem_details_even_when_a_stream_is_asked_for()
    {
        using var response = await _client.AskStreamingAsync("   ");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Should_say_what_it_can_answer_when_no_tool_fits()
    {
        var answer = await AskAsync("What is the weather like?");

        Assert.Empty(answer.GetProperty("toolCalls").EnumerateArray());
        Assert.Contains("I can answer questions about", answer.GetProperty("answer").GetString(), StringComparison.Ordinal);
        Assert.True(answer.GetProperty("simulated").GetBoolean());
    }

    [Theory]
    [InlineData("""{"prompt":""}""")]
    [InlineData("""{"prompt":"   "}""")]
    [InlineData("""{}""")]
    public async Task Should_refuse_an_empty_prompt_with_problem_details_naming_the_field(string body)
    {
        using var response = await _client.PostAsync(new Uri("/ai/ask", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        await AssertPromptProblemAsync(response);
    }

    [Theory]
    [InlineData(4_001)]
    [InlineData(100 * 1024)]
    public async Task Should_refuse_a_huge_prompt_with_problem_details_naming_the_field(int characters)
    {
        using var response = await _client.PostAsJsonAsync("/ai/ask", new { prompt = new string('x', characters) });

        await AssertPromptProblemAsync(response);
    }

    [Fact]
    public async Task Should_refuse_malformed_json_with_problem_details()
    {
        using var response = await _client.PostAsync(new Uri("/ai/ask", UriKind.Relative), new StringContent("""{"prompt": """, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private static async Task AssertPromptProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("prompt", out _));
    }

    private async Task<JsonElement> AskAsync(string prompt)
    {
        using var response = await _client.PostAsJsonAsync("/ai/ask", new { prompt });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task SeedAsync(params LlmJob[] jobs)
    {
        await using var scope = api.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        db.AddRange(jobs);
        await db.SaveChangesAsync();
    }

    private static LlmJob Job(string status, DateTimeOffset createdAt, string? error = null) => new()
    {
        Id = Guid.NewGuid(), Kind = "flagging", Model = "simulated-flagger", Instructions = "i", Provider = "simulated", Simulated = true,
        Status = status, TotalItems = 1, ProcessedItems = 1, CreatedAt = createdAt, FinishedAt = createdAt.AddMinutes(1),
        ExpiresAt = createdAt.AddDays(1), LastError = error,
    };
}

/// <summary>The OpenAI path against a local stub answering with Chat Completions shapes, tool calls included.</summary>
public sealed class OpenAiAssistantApi : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string ApiKey = "sk-assistant-test-0123456789";

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));

    public HttpStub Stub { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Stub = await HttpStub.StartAsync(app => app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var (status, answer) = body switch
            {
                _ when body.Contains("provoke a refusal", StringComparison.Ordinal) => (401, ChatStub.Error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")),
                _ when body.Contains("loop forever", StringComparison.Ordinal) => (200, ChatStub.ToolCalls(("call_" + Guid.NewGuid().ToString("N")[..8], "count_scan_sessions", """{"period":"today","from":null,"to":null}"""))),
                _ when body.Contains("\"role\":\"tool\"", StringComparison.Ordinal) => (200, ChatStub.Text("There are 0 scan sessions and the jobs are counted above.")),
                _ => (200, ChatStub.ToolCalls(
                    ("call_1", "count_llm_jobs", """{"period":"all","from":null,"to":null}"""),
                    ("call_2", "no_such_tool", "{}"))),
            };
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(answer);
        }));
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("Assistant:Provider", "openai");
        builder.UseSetting("Assistant:OpenAi:BaseUrl", Stub.BaseAddress.ToString().TrimEnd('/'));
        builder.UseSetting("Assistant:OpenAi:ApiKey", ApiKey);
        builder.UseSetting("Assistant:OpenAi:Model", "gpt-6-luna");
        builder.UseSetting("Assistant:MaxToolRounds", "2");
    }

    async Task IAsyncLifetime.DisposeAsync() => await Stub.DisposeAsync();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

public sealed class When_the_openai_assistant_is_asked(OpenAiAssistantApi api) : IClassFixture<OpenAiAssistantApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_run_the_tools_the_model_calls_and_return_its_final_answer()
    {
        using var response = await _client.PostAsJsonAsync("/ai/ask", new { prompt = "How many jobs are there?" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("There are 0 scan sessions and the jobs are counted above.", answer.GetProperty("answer").GetString());
        Assert.False(answer.GetProperty("simulated").GetBoolean());
        Assert.Equal(2, answer.GetProperty("rounds").GetInt32());
        var calls = answer.GetProperty("toolCalls").EnumerateArray().ToList();
        Assert.Equal(new[] { "count_llm_jobs", "no_such_tool" }, calls.Select(c => c.GetProperty("name").GetString()).ToArray());
        Assert.Equal(JsonValueKind.Number, calls[0].GetProperty("result").GetProperty("total").ValueKind);
        Assert.Contains("\"no_such_tool\" not found", calls[1].GetProperty("error").GetString(), StringComparison.Ordinal);

        var requests = api.Stub.Requests.Where(r => r.Body.Contains("How many jobs are there?", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, requests.Count);
        Assert.Equal("Bearer " + OpenAiAssistantApi.ApiKey, requests[0].Headers["Authorization"]);
        using var first = JsonDocument.Parse(requests[0].Body);
        Assert.Equal("gpt-6-luna", first.RootElement.GetProperty("model").GetString());
        var offered = first.RootElement.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("function").GetProperty("name").GetString()).ToList();
        Assert.Equal(new[] { "count_llm_jobs", "llm_job_usage", "count_scan_sessions", "count_prompt_analyses", "prompt_analysis_costs", "brand_visibility", "recent_failures" }, offered.ToArray());

        using var second = JsonDocument.Parse(requests[1].Body);
        var toolMessages = second.RootElement.GetProperty("messages").EnumerateArray().Where(m => m.GetProperty("role").GetString() == "tool").ToList();
        Assert.Equal(new[] { "call_1", "call_2" }, toolMessages.Select(m => m.GetProperty("tool_call_id").GetString()).ToArray());
        Assert.Contains("\"total\"", toolMessages[0].GetProperty("content").GetString(), StringComparison.Ordinal);
        Assert.Equal(calls[0].GetProperty("result").GetRawText(), toolMessages[0].GetProperty("content").GetString());
        Assert.Contains("\"no_such_tool\" not found", toolMessages[1].GetProperty("content").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_stop_a_model_that_keeps_calling_tools_after_the_configured_rounds()
    {
        using var response = await _client.PostAsJsonAsync("/ai/ask", new { prompt = "loop forever please" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("stopped after 2 rounds", answer.GetProperty("answer").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, answer.GetProperty("toolCalls").GetArrayLength());
        var requests = api.Stub.Requests.Where(r => r.Body.Contains("loop forever please", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, requests.Count);
        using var last = JsonDocument.Parse(requests[^1].Body);
        Assert.False(last.RootElement.TryGetProperty("tools", out _));
    }

    [Fact]
    public async Task Should_answer_502_with_problem_details_when_the_model_refuses_the_call()
    {
        using var response = await _client.PostAsJsonAsync("/ai/ask", new { prompt = "provoke a refusal" });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("401", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Incorrect API key", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}

/// <summary>Chat Completions response shapes as the API returns them.</summary>
internal static class ChatStub
{
    public static string ToolCalls(params (string Id, string Name, string Arguments)[] calls) => Completion(
        new Dictionary<string, object?>
        {
            ["role"] = "assistant",
            ["content"] = null,
            ["refusal"] = null,
            ["annotations"] = Array.Empty<object>(),
            ["tool_calls"] = calls.Select(c => new { id = c.Id, type = "function", function = new { name = c.Name, arguments = c.Arguments } }).ToArray(),
        },
        "tool_calls");

    public static string Text(string text) => Completion(
        new Dictionary<string, object?> { ["role"] = "assistant", ["content"] = text, ["refusal"] = null, ["annotations"] = Array.Empty<object>() },
        "stop");

    public static string Error(string message, string type, string? code) =>
        JsonSerializer.Serialize(new { error = new { message, type, param = (string?)null, code } });

    private static string Completion(Dictionary<string, object?> message, string finishReason) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["id"] = "chatcmpl-" + Guid.NewGuid().ToString("N")[..20],
        ["object"] = "chat.completion",
        ["created"] = 1763900000,
        ["model"] = "gpt-6-luna-2026-08-01",
        ["choices"] = new[] { new Dictionary<string, object?> { ["index"] = 0, ["message"] = message, ["logprobs"] = null, ["finish_reason"] = finishReason } },
        ["usage"] = new
        {
            prompt_tokens = 412,
            completion_tokens = 38,
            total_tokens = 450,
            prompt_tokens_details = new { cached_tokens = 0, audio_tokens = 0 },
            completion_tokens_details = new { reasoning_tokens = 0, audio_tokens = 0, accepted_prediction_tokens = 0, rejected_prediction_tokens = 0 },
        },
        ["service_tier"] = "default",
        ["system_fingerprint"] = "fp_sagas_stub",
    });
}
