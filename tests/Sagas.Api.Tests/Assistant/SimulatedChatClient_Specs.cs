using Microsoft.Extensions.AI;
using Sagas.Api.Assistant;

namespace Sagas.Api.Tests.Assistant;

public sealed class When_the_simulated_model_runs_behind_the_tool_loop
{
    private readonly FakeTool _jobs = FakeTool.Counting("count_jobs", "job");
    private readonly FakeTool _sessions = FakeTool.Counting("count_sessions", "session");

    [Fact]
    public async Task Should_call_the_tools_its_keywords_pick_and_answer_in_their_words()
    {
        var answer = await Loop(new AssistantOptions()).AskAsync("How many jobs ran today?", CancellationToken.None);

        Assert.True(answer.Simulated);
        Assert.Equal(SimulatedChatClient.ModelName, answer.Model);
        Assert.Equal(2, answer.Rounds);
        var call = Assert.Single(answer.ToolCalls);
        Assert.Equal("count_jobs", call.Name);
        Assert.Equal("today", call.Arguments.GetProperty("period").GetString());
        Assert.Empty(_sessions.Received);
        Assert.Equal(SimulatedChatClient.Label + "\n\n- " + """count_jobs says {"Subject":"count_jobs","TotalCount":3}.""", answer.Answer);
    }

    [Fact]
    public async Task Should_still_answer_from_the_results_when_its_last_turn_is_offered_no_tools()
    {
        // With one round the loop takes the tools away before the turn that answers.
        var answer = await Loop(new AssistantOptions { MaxToolRounds = 1 }).AskAsync("jobs and sessions", CancellationToken.None);

        Assert.Equal(new[] { "count_jobs", "count_sessions" }, answer.ToolCalls.Select(c => c.Name).ToArray());
        Assert.Contains("count_jobs says", answer.Answer, StringComparison.Ordinal);
        Assert.Contains("count_sessions says", answer.Answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_list_what_it_can_answer_when_no_keyword_matches()
    {
        var answer = await Loop(new AssistantOptions()).AskAsync("What is the weather like?", CancellationToken.None);

        Assert.Empty(answer.ToolCalls);
        Assert.Equal(1, answer.Rounds);
        Assert.StartsWith(SimulatedChatClient.Label + " I can answer questions about: Answers count_jobs; Answers count_sessions.", answer.Answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_stream_the_answer_it_would_return()
    {
        using var model = new SimulatedChatClient(TimeProvider.System);
        var options = new ChatOptions { Tools = [new AssistantToolFunction(_jobs, new ListLogger())] };

        var streamed = await model.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "weather?")], options).ToChatResponseAsync();

        Assert.StartsWith(SimulatedChatClient.Label, streamed.Text, StringComparison.Ordinal);
    }

    private AssistantLoop Loop(AssistantOptions options) => AssistantLoops.Around(new SimulatedChatClient(TimeProvider.System), options, _jobs, _sessions);
}
