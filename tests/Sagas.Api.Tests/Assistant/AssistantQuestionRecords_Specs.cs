using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.Persistence;

namespace Sagas.Api.Tests.Assistant;

/// <summary>The row <c>assistant_questions</c> holds for one question, read with SQL so the spec does not depend on the entity.</summary>
public sealed record RecordedQuestion(
    Guid Id, string Provider, string Model, bool Streamed, string Outcome, string? StoppedBy,
    long InputTokens, long OutputTokens, decimal? Cost, int ToolCalls, int PromptCharacters, int ExecutionTimeMs, string? ErrorMessage);

internal static class AssistantQuestionRows
{
    // The context's snake_case convention names the record's columns too.
    private const string Select =
        "SELECT id, provider, model, streamed, outcome, stopped_by, input_tokens, output_tokens, cost, tool_calls, " +
        "prompt_characters, execution_time_ms, error_message FROM assistant_questions";

    public static async Task<List<RecordedQuestion>> AllAsync(IServiceProvider services)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        return await db.Database.SqlQueryRaw<RecordedQuestion>(Select).ToListAsync();
    }

    /// <summary>
    /// The rows <paramref name="ask"/> left: the specs of one class run one at a time over their own API, so every row
    /// that was not there before belongs to this question. Polled: the row may be written just after the answer.
    /// </summary>
    public static async Task<List<RecordedQuestion>> LeftByAsync(IServiceProvider services, Func<Task> ask)
    {
        var before = (await AllAsync(services)).Select(r => r.Id).ToHashSet();
        await ask();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var added = (await AllAsync(services)).Where(r => !before.Contains(r.Id)).ToList();
            if (added.Count > 0 || DateTime.UtcNow > deadline)
                return added;
            await Task.Delay(20);
        }
    }
}

/// <summary>Every question is a row, like the other model calls: outcome, tokens, cost, tool calls, time; never the question itself.</summary>
public sealed class When_assistant_questions_are_recorded(AnthropicAssistantApi api) : IClassFixture<AnthropicAssistantApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_record_an_answered_question_with_its_tokens_cost_and_tool_calls()
    {
        const string question = "Recorded: how many jobs are there?";
        var rows = await AssistantQuestionRows.LeftByAsync(api.Services, async () =>
        {
            using var response = await _client.PostAsJsonAsync("/ai/ask", new { prompt = question });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        });

        var row = Assert.Single(rows);
        Assert.Equal("anthropic", row.Provider);
        Assert.Equal("claude-stub-4-5", row.Model);
        Assert.False(row.Streamed);
        Assert.Equal("answered", row.Outcome);
        Assert.Null(row.StoppedBy);
        Assert.Equal(2400, row.InputTokens);
        Assert.Equal(160, row.OutputTokens);
        Assert.Equal(0.0096m, row.Cost);
        Assert.Equal(1, row.ToolCalls);
        Assert.Equal(question.Length, row.PromptCharacters);
        Assert.True(row.ExecutionTimeMs >= 0);
        Assert.Null(row.ErrorMessage);
    }

    [Fact]
    public async Task Should_list_recorded_questions_newest_first()
    {
        var rows = await AssistantQuestionRows.LeftByAsync(api.Services, async () =>
        {
            using var response = await _client.PostAsJsonAsync("/ai/ask", new { prompt = "Recorded and listed: refuse with 403" });
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        });
        var recorded = Assert.Single(rows);

        using var listed = await _client.GetAsync(new Uri("/api/assistant/questions?pageSize=1", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        var page = await listed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(page.GetProperty("total").GetInt32() >= 1);
        var newest = Assert.Single(page.GetProperty("items").EnumerateArray());
        Assert.Equal(recorded.Id, newest.GetProperty("id").GetGuid());
        Assert.Equal("refused", newest.GetProperty("outcome").GetString());
        Assert.Equal("The language model answered HTTP 403.", newest.GetProperty("error").GetString());
        Assert.False(newest.TryGetProperty("prompt", out _));
        using var bad = await _client.GetAsync(new Uri("/api/assistant/questions?pageSize=0", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Should_record_a_streamed_answer_as_its_done_event_reports_it()
    {
        JsonElement done = default;
        var rows = await AssistantQuestionRows.LeftByAsync(api.Services, async () =>
        {
            using var response = await _client.AskStreamingAsync("Streamed: recorded, how many jobs are there?");
            done = (await response.AllEventsAsync()).Single(e => e.Type == "done").Data;
        });

        var row = Assert.Single(rows);
        Assert.True(row.Streamed);
        Assert.Equal("answered", row.Outcome);
        Assert.Equal(done.GetProperty("usage").GetProperty("inputTokens").GetInt64(), row.InputTokens);
        Assert.Equal(done.GetProperty("usage").GetProperty("outputTokens").GetInt64(), row.OutputTokens);
        Assert.Equal(done.GetProperty("usage").GetProperty("costUsd").GetDecimal(), row.Cost);
        Assert.True(row.InputTokens > 0);
        Assert.Equal(1, row.ToolCalls);
    }

    [Fact]
    public async Task Should_record_a_question_the_provider_kept_rate_limited()
    {
        var rows = await AssistantQuestionRows.LeftByAsync(api.Services, async () =>
        {
            using var response = await _client.PostAsJsonAsync("/ai/ask", new { prompt = "Recorded: throttle always" });
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        });

        var row = Assert.Single(rows);
        Assert.Equal("rate_limited", row.Outcome);
        Assert.Equal(0, row.InputTokens);
        Assert.Equal(0, row.OutputTokens);
        Assert.Equal(0m, row.Cost);
        Assert.Contains("rate limited", row.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_record_a_streamed_question_the_provider_kept_rate_limited()
    {
        var rows = await AssistantQuestionRows.LeftByAsync(api.Services, async () =>
        {
            using var response = await _client.AskStreamingAsync("Streamed: recorded, throttle always");
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        });

        var row = Assert.Single(rows);
        Assert.True(row.Streamed);
        Assert.Equal("rate_limited", row.Outcome);
    }

    [Fact]
    public async Task Should_record_a_refused_question_with_the_status_only()
    {
        var rows = await AssistantQuestionRows.LeftByAsync(api.Services, async () =>
        {
            using var response = await _client.PostAsJsonAsync("/ai/ask", new { prompt = "Recorded: refuse with 400" });
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        });

        var row = Assert.Single(rows);
        Assert.Equal("refused", row.Outcome);
        Assert.Equal("The language model answered HTTP 400.", row.ErrorMessage);
    }

    [Fact]
    public async Task Should_record_a_stream_cut_by_the_provider_as_failed()
    {
        const string question = "Streamed: recorded, cut the stream";
        var rows = await AssistantQuestionRows.LeftByAsync(api.Services, async () =>
        {
            using var response = await _client.AskStreamingAsync(question);
            await foreach (var e in response.EventsAsync())
            {
                if (e.Type == "token")
                    api.CutFor(question).TrySetResult();
            }
        });

        var row = Assert.Single(rows);
        Assert.True(row.Streamed);
        Assert.Equal("failed", row.Outcome);
        Assert.Equal("The language model's answer was cut off.", row.ErrorMessage);
    }
}

/// <summary>Claude on the Anthropic API with one tool call per question: every question is stopped by its budget.</summary>
public sealed class TightBudgetAnthropicApi : AnthropicAssistantApi
{
    protected override void UseProvider(IWebHostBuilder builder)
    {
        base.UseProvider(builder);
        builder.UseSetting("Assistant:MaxToolCallsPerQuestion", "1");
    }
}

public sealed class When_a_recorded_question_is_stopped_by_its_budget(TightBudgetAnthropicApi api) : IClassFixture<TightBudgetAnthropicApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_record_a_partial_answer_with_what_stopped_it_and_the_tokens_spent()
    {
        var rows = await AssistantQuestionRows.LeftByAsync(api.Services, async () =>
        {
            using var response = await _client.PostAsJsonAsync("/ai/ask", new { prompt = "Recorded: a budget too small" });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("complete").GetBoolean());
        });

        var row = Assert.Single(rows);
        Assert.False(row.Streamed);
        Assert.Equal("partial", row.Outcome);
        Assert.Equal("tool_calls", row.StoppedBy);
        // One turn of 1,200 input and 80 output tokens, priced at 3 and 15 USD per million.
        Assert.Equal(1200, row.InputTokens);
        Assert.Equal(80, row.OutputTokens);
        Assert.Equal(0.0048m, row.Cost);
        Assert.Equal(1, row.ToolCalls);
    }

    [Fact]
    public async Task Should_record_a_streamed_partial_answer_too()
    {
        var rows = await AssistantQuestionRows.LeftByAsync(api.Services, async () =>
        {
            using var response = await _client.AskStreamingAsync("Streamed: recorded, a budget too small");
            Assert.Equal("done", (await response.AllEventsAsync())[^1].Type);
        });

        var row = Assert.Single(rows);
        Assert.True(row.Streamed);
        Assert.Equal("partial", row.Outcome);
        Assert.Equal("tool_calls", row.StoppedBy);
    }
}

/// <summary>Claude on the Anthropic API, keeping what the host logs.</summary>
public sealed class LoggedAnthropicApi : AnthropicAssistantApi
{
    public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Logged { get; } = new();

    protected override void UseProvider(IWebHostBuilder builder)
    {
        base.UseProvider(builder);
        builder.ConfigureLogging(logging => logging.AddProvider(new QueueLoggerProvider(Logged)));
    }

    private sealed class QueueLoggerProvider(ConcurrentQueue<(string, LogLevel, string)> logged) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new QueueLogger(categoryName, logged);

        public void Dispose()
        {
        }
    }

    private sealed class QueueLogger(string category, ConcurrentQueue<(string, LogLevel, string)> logged) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
                logged.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}

/// <summary>Recording is bookkeeping: a database that refuses the row must not cost the caller the answer.</summary>
public sealed class When_an_assistant_question_cannot_be_recorded(LoggedAnthropicApi api) : IClassFixture<LoggedAnthropicApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_still_answer_when_the_table_is_missing()
    {
        await using (var scope = api.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
            await db.Database.ExecuteSqlRawAsync("DROP TABLE IF EXISTS assistant_questions");
        }

        using var response = await _client.PostAsJsonAsync("/ai/ask", new { prompt = "Unrecorded: how many jobs are there?" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ClaudeStub.FinalAnswer, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("answer").GetString());

        using var streamed = await _client.AskStreamingAsync("Streamed: unrecorded, how many jobs are there?");
        Assert.Equal("done", (await streamed.AllEventsAsync())[^1].Type);

        // Both failed inserts are logged as warnings; the rows are written after the answers, so wait for them.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (NotRecorded().Count < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.Equal(2, NotRecorded().Count);
        Assert.All(NotRecorded(), entry => Assert.Equal(LogLevel.Warning, entry.Level));
    }

    private List<(string Category, LogLevel Level, string Message)> NotRecorded() =>
        [.. api.Logged.Where(e => e.Category.EndsWith("AssistantQuestionRecorder", StringComparison.Ordinal) && e.Message.Contains("could not be recorded", StringComparison.Ordinal))];
}
