using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Sagas.Api.Assistant;

namespace Sagas.Api.Tests.Assistant;

public sealed class When_the_model_calls_tools_and_then_answers
{
    [Fact]
    public async Task Should_return_its_last_text_with_every_call_in_order_and_count_its_turns()
    {
        var jobs = FakeTool.Counting("count_jobs");
        var sessions = FakeTool.Counting("count_sessions");
        var model = new ScriptedChatClient(request => request switch
        {
            1 => ScriptedChatClient.Calls(ScriptedChatClient.Call("a", "count_jobs", """{"period":"today","limit":null}""")),
            2 => ScriptedChatClient.Calls(ScriptedChatClient.Call("b", "count_sessions", """{"period":"all","limit":null}"""), ScriptedChatClient.Call("c", "count_nothing")),
            _ => ScriptedChatClient.Text("3 jobs today and 3 sessions in all."),
        });

        var answer = await AssistantLoops.Around(model, new AssistantOptions(), jobs, sessions).AskAsync("How busy are we?", CancellationToken.None);

        Assert.Equal("3 jobs today and 3 sessions in all.", answer.Answer);
        Assert.Equal(3, answer.Rounds);
        Assert.False(answer.Simulated);
        Assert.Equal("scripted", answer.Model);
        Assert.Equal(new[] { "count_jobs", "count_sessions", "count_nothing" }, answer.ToolCalls.Select(c => c.Name).ToArray());
        Assert.Equal("today", answer.ToolCalls[0].Arguments.GetProperty("period").GetString());
        Assert.Equal(3, answer.ToolCalls[1].Result!.Value.GetProperty("totalCount").GetInt32());
        Assert.Null(answer.ToolCalls[1].Error);
        Assert.Null(answer.ToolCalls[2].Result);
        Assert.Contains("\"count_nothing\" not found", answer.ToolCalls[2].Error, StringComparison.Ordinal);

        // The model got the instructions, every tool and, on its later turns, the results of its calls.
        var first = model.Requests[0].Options!;
        Assert.Contains("never guess a figure", first.Instructions, StringComparison.Ordinal);
        Assert.Equal(new[] { "count_jobs", "count_sessions" }, first.Tools!.Select(t => t.Name).ToArray());
        var results = model.Requests[2].Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToList();
        Assert.Equal(new[] { "a", "b", "c" }, results.Select(r => r.CallId).ToArray());
    }
}

public sealed class When_the_model_keeps_calling_tools
{
    [Fact]
    public async Task Should_offer_tools_for_the_configured_rounds_then_ask_once_more_without_them_and_say_it_stopped()
    {
        var tool = FakeTool.Counting("count_jobs");
        var model = new ScriptedChatClient(request => ScriptedChatClient.Calls(ScriptedChatClient.Call($"call_{request}", "count_jobs", """{"period":"all","limit":null}""")));

        var answer = await AssistantLoops.Around(model, new AssistantOptions { MaxToolRounds = 3 }, tool).AskAsync("loop", CancellationToken.None);

        Assert.Equal(4, model.Requests.Count);
        Assert.All(model.Requests.Take(3), r => Assert.NotEmpty(r.Options!.Tools!));
        Assert.Empty(model.Requests[3].Options?.Tools ?? []);
        Assert.Equal(3, tool.Received.Count);
        Assert.Equal(3, answer.ToolCalls.Count);
        Assert.Equal(4, answer.Rounds);
        Assert.Equal("The assistant stopped after 3 rounds of tool calls without a final answer. Ask a narrower question.", answer.Answer);
    }

    [Fact]
    public async Task Should_take_the_answer_the_model_gives_when_the_tools_are_taken_away()
    {
        var model = new ScriptedChatClient(request => request <= 2
            ? ScriptedChatClient.Calls(ScriptedChatClient.Call($"call_{request}", "count_jobs", """{"period":"all","limit":null}"""))
            : ScriptedChatClient.Text("There are 3 jobs."));

        var answer = await AssistantLoops.Around(model, new AssistantOptions { MaxToolRounds = 2 }, FakeTool.Counting("count_jobs")).AskAsync("loop", CancellationToken.None);

        Assert.Equal("There are 3 jobs.", answer.Answer);
        Assert.Equal(3, answer.Rounds);
    }
}

public sealed class When_the_model_calls_more_tools_in_one_turn_than_allowed
{
    [Fact]
    public async Task Should_run_the_first_calls_and_tell_the_model_the_rest_were_not_run()
    {
        var tool = FakeTool.Counting("count_jobs");
        var model = new ScriptedChatClient(request => request == 1
            ? ScriptedChatClient.Calls([.. Enumerable.Range(1, 3).Select(i => ScriptedChatClient.Call($"call_{i}", "count_jobs", """{"period":"all","limit":null}"""))])
            : ScriptedChatClient.Text("Done."));

        var answer = await AssistantLoops.Around(model, new AssistantOptions { MaxToolCallsPerRound = 2 }, tool).AskAsync("three at once", CancellationToken.None);

        Assert.Equal(2, tool.Received.Count);
        Assert.Equal(3, answer.ToolCalls.Count);
        Assert.NotNull(answer.ToolCalls[1].Result);
        Assert.Equal("At most 2 tool calls per turn; this one was not run.", answer.ToolCalls[2].Error);
        var told = model.Requests[1].Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single(r => r.CallId == "call_3");
        Assert.Equal("""{"error":"At most 2 tool calls per turn; this one was not run."}""", JsonSerializer.Serialize(told.Result, AIJsonUtilities.DefaultOptions));
    }
}

public sealed class When_the_model_sends_arguments_that_are_not_json
{
    [Fact]
    public async Task Should_not_run_the_tool_and_tell_the_model_its_arguments_are_unreadable()
    {
        var tool = FakeTool.Counting("count_jobs");
        var unreadable = FunctionCallContent.CreateFromParsedArguments("{\"period\": ", "call_1", "count_jobs",
            json => JsonSerializer.Deserialize<Dictionary<string, object?>>(json));
        var model = new ScriptedChatClient(request => request == 1 ? ScriptedChatClient.Calls(unreadable) : ScriptedChatClient.Text("Sorry."));

        var answer = await AssistantLoops.Around(model, new AssistantOptions(), tool).AskAsync("garbled", CancellationToken.None);

        Assert.Empty(tool.Received);
        var call = Assert.Single(answer.ToolCalls);
        Assert.Equal("The arguments are not valid JSON.", call.Error);
        Assert.Equal(JsonValueKind.Null, call.Arguments.ValueKind);
        var told = model.Requests[1].Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single();
        Assert.Equal("The arguments are not valid JSON.", Assert.IsType<AssistantToolResult>(told.Result).Error);
    }
}

public sealed class When_the_provider_fails
{
    [Fact]
    public async Task Should_say_the_model_is_unavailable_with_what_the_provider_allows_and_log_the_rest()
    {
        var log = new ListLogger();
        var failing = new ProviderFailureChatClient(
            new ScriptedChatClient(_ => throw new HttpRequestException("account acct_42 over quota")), "scripted",
            exception => exception is HttpRequestException ? ProviderFailure.Unreachable : null, log);

        var unavailable = await Assert.ThrowsAsync<AssistantUnavailableException>(() =>
            AssistantLoops.Around(failing, new AssistantOptions(), FakeTool.Counting("count_jobs")).AskAsync("anything", CancellationToken.None));

        Assert.Equal("The language model could not be reached.", unavailable.Message);
        Assert.Contains("acct_42", Assert.Single(log.Entries).Exception!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_say_so_when_a_stream_breaks_too()
    {
        var failing = new ProviderFailureChatClient(
            new ScriptedChatClient(_ => throw new HttpRequestException("reset")), "scripted", _ => ProviderFailure.Unreachable, new ListLogger());

        await Assert.ThrowsAsync<AssistantUnavailableException>(async () =>
        {
            await foreach (var update in failing.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")]))
                Assert.NotNull(update);
        });
    }

    [Fact]
    public async Task Should_leave_failures_the_provider_does_not_recognise_alone()
    {
        var failing = new ProviderFailureChatClient(
            new ScriptedChatClient(_ => throw new InvalidOperationException("a bug of ours")), "scripted", _ => null, new ListLogger());

        await Assert.ThrowsAsync<InvalidOperationException>(() => failing.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]));
    }
}

public sealed class When_a_question_spends_its_budget
{
    private static ChatResponse WithUsage(ChatResponse response)
    {
        response.Usage = new UsageDetails { InputTokenCount = 1200, OutputTokenCount = 80 };
        return response;
    }

    [Fact]
    public async Task Should_stop_with_a_partial_answer_once_its_tokens_are_spent_and_price_what_was_used()
    {
        var model = new ScriptedChatClient(turn => WithUsage(ScriptedChatClient.Calls(ScriptedChatClient.Call($"t{turn}", "count_jobs", """{"period":"all"}"""))));
        var options = new AssistantOptions { MaxToolRounds = 10, MaxTokensPerQuestion = 2_000 };

        var answer = await AssistantLoops.Around(model, options, AssistantLoops.AnyModel("simulated", 3m, 15m), FakeTool.Counting("count_jobs"))
            .AskAsync("Count forever", CancellationToken.None);

        // Two turns (1,280 tokens each): the third would start past 2,000, so the model is not asked again.
        Assert.Equal(2, model.Requests.Count);
        Assert.False(answer.Complete);
        Assert.Equal("tokens", answer.StoppedBy);
        Assert.Contains("budget of 2,000 tokens", answer.Answer, StringComparison.Ordinal);
        Assert.Equal(2, answer.ToolCalls.Count);
        Assert.All(answer.ToolCalls, call => Assert.Null(call.Error));
        Assert.Equal(new AssistantUsage(2400, 160, 0.0096m), answer.Usage);
    }

    [Fact]
    public async Task Should_stop_once_its_tool_calls_are_spent()
    {
        var model = new ScriptedChatClient(turn => ScriptedChatClient.Calls(
            ScriptedChatClient.Call($"a{turn}", "count_jobs"), ScriptedChatClient.Call($"b{turn}", "count_jobs"), ScriptedChatClient.Call($"c{turn}", "count_jobs")));
        var options = new AssistantOptions { MaxToolRounds = 10, MaxToolCallsPerQuestion = 4 };

        var answer = await AssistantLoops.Around(model, options, FakeTool.Counting("count_jobs")).AskAsync("Count forever", CancellationToken.None);

        Assert.Equal(2, model.Requests.Count);
        Assert.Equal("tool_calls", answer.StoppedBy);
        Assert.False(answer.Complete);
        Assert.Equal(6, answer.ToolCalls.Count);
        Assert.Equal(4, answer.ToolCalls.Count(c => c.Error is null));
        Assert.Equal("The question's 4 tool calls are spent; this one was not run.", answer.ToolCalls[^1].Error);
        Assert.Null(answer.Usage!.CostUsd);
    }

    [Fact]
    public async Task Should_answer_with_the_tool_results_so_far_when_a_model_that_never_answers_runs_out_its_time()
    {
        var model = new HangingOnSecondTurn();
        var options = new AssistantOptions { MaxTimePerQuestion = TimeSpan.FromSeconds(1) };

        var answer = await AssistantLoops.Around(model, options, FakeTool.Counting("count_jobs")).AskAsync("Count the jobs", CancellationToken.None);

        Assert.False(answer.Complete);
        Assert.Equal("seconds", answer.StoppedBy);
        Assert.Contains("ran out of its time budget (1 s)", answer.Answer, StringComparison.Ordinal);
        var call = Assert.Single(answer.ToolCalls);
        Assert.Equal(3, call.Result!.Value.GetProperty("totalCount").GetInt32());
    }

    [Fact]
    public async Task Should_end_a_stream_that_runs_out_of_time_with_a_partial_answer()
    {
        var model = new HangingOnSecondTurn();
        var options = new AssistantOptions { MaxTimePerQuestion = TimeSpan.FromSeconds(1) };

        var events = new List<AssistantStreamEvent>();
        await foreach (var e in AssistantLoops.Around(model, options, FakeTool.Counting("count_jobs")).StreamAsync("Count the jobs", CancellationToken.None))
            events.Add(e);

        Assert.Equal(new[] { "tool_call", "tool_result", "done" }, events.Select(e => e.Type).ToArray());
        var done = Assert.IsType<AskResponse>(events[^1].Data);
        Assert.Equal("seconds", done.StoppedBy);
        Assert.Single(done.ToolCalls);
    }

    /// <summary>Calls a tool, then never answers: a provider that hangs.</summary>
    private sealed class HangingOnSecondTurn : IChatClient
    {
        private int _turns;

        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _turns) == 1)
                return ScriptedChatClient.Calls(ScriptedChatClient.Call("t1", "count_jobs"));
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var response = await GetResponseAsync(messages, options, cancellationToken);
            foreach (var update in response.ToChatResponseUpdates())
                yield return update;
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
