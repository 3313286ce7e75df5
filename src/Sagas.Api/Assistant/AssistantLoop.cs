using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Sagas.Modules.Assistant;
using Sagas.Modules.Usage;

namespace Sagas.Api.Assistant;

/// <summary>
/// The assistant's one tool loop, whatever the provider: the prompt and every registered tool go to the assistant's
/// chat client, whose <see cref="FunctionInvokingChatClient"/> (<see cref="AssistantToolLoop.UseAssistantToolLoop"/>)
/// runs the tools the model calls and hands their results back until the model answers or the rounds run out. The
/// tool calls are read off the conversation the loop returns, so what the caller sees is what the model was shown.
/// </summary>
public sealed class AssistantLoop(
    [FromKeyedServices(AssistantLoop.ChatClientKey)] IChatClient chat,
    AssistantToolRegistry tools,
    AssistantOptions options,
    PriceTable prices,
    TimeProvider clock,
    ILogger<AssistantToolFunction> toolLogger)
{
    /// <summary>The assistant's chat client is keyed: another feature's model is not the assistant's.</summary>
    public const string ChatClientKey = "assistant";

    private const string Instructions =
        "You answer questions about this system's own data: LLM jobs, scan sessions and the other workflows. " +
        "Use the tools to look numbers up; never guess a figure a tool can give. Tools are read-only. " +
        "Dates are UTC. Answer briefly and state the period the figures cover. If no tool can answer, say so.";

    /// <summary>The model the chat client is configured with, for a question that failed before any answer named one.</summary>
    public string ConfiguredModel => chat.GetService<ChatClientMetadata>()?.DefaultModelId ?? "unknown";

    public Task<AskResponse> AskAsync(string prompt, CancellationToken cancellationToken) =>
        AskAsync(prompt, new AssistantBudget(options, prices), cancellationToken);

    /// <summary>Answers with <paramref name="budget"/>, which the caller keeps: it still tells what was spent when the provider fails.</summary>
    public async Task<AskResponse> AskAsync(string prompt, AssistantBudget budget, CancellationToken cancellationToken)
    {
        using var deadline = Deadline(cancellationToken);
        try
        {
            var response = await chat.GetResponseAsync([new ChatMessage(ChatRole.User, prompt)], Request(budget), deadline.Token);
            return Answer(response, budget);
        }
        catch (Exception) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return OutOfTime(budget, written: "");
        }
    }

    /// <summary>The question's time budget; the caller hanging up still cancels it outright.</summary>
    private CancellationTokenSource Deadline(CancellationToken cancellationToken)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.MaxTimePerQuestion);
        return deadline;
    }

    /// <summary>Time ran out mid-turn or mid-tool: the words written and the tool results so far, marked incomplete.</summary>
    private AskResponse OutOfTime(AssistantBudget budget, string written)
    {
        var explanation = budget.Explain("seconds");
        return new AskResponse(
            written.Length > 0 ? written + "\n\n" + explanation : explanation,
            ToolCalls([.. budget.Conversation]),
            chat.GetService<SimulatedChatClient>() is not null,
            chat.GetService<ChatClientMetadata>()?.DefaultModelId ?? "unknown",
            Rounds: budget.Conversation.Count(m => m.Role == ChatRole.Tool) + 1,
            Complete: false,
            StoppedBy: "seconds",
            Usage: budget.Usage(chat.GetService<ChatClientMetadata>()?.DefaultModelId ?? "unknown"));
    }

    /// <summary>
    /// The same question, answered as it is written: the model's words as they come, each tool call when the model
    /// makes it and its result when the tool answers, then the whole answer as <see cref="AskAsync"/> gives it. A
    /// provider failing midway ends the stream with an error that keeps the words already written.
    /// </summary>
    public IAsyncEnumerable<AssistantStreamEvent> StreamAsync(string prompt, CancellationToken cancellationToken) =>
        StreamAsync(prompt, new AssistantBudget(options, prices), cancellationToken);

    public async IAsyncEnumerable<AssistantStreamEvent> StreamAsync(string prompt, AssistantBudget budget, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var updates = new List<ChatResponseUpdate>();
        using var deadline = Deadline(cancellationToken);
        await using var stream = chat.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, prompt)], Request(budget), deadline.Token).GetAsyncEnumerator(deadline.Token);
        while (true)
        {
            AssistantUnavailableException? failure = null;
            var outOfTime = false;
            try
            {
                if (!await stream.MoveNextAsync())
                    break;
            }
            catch (AssistantUnavailableException unavailable) when (!deadline.IsCancellationRequested)
            {
                failure = unavailable;
            }
            catch (Exception) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                outOfTime = true;
            }

            if (outOfTime)
            {
                yield return new AssistantStreamEvent("done", OutOfTime(budget, Written(updates)));
                yield break;
            }

            if (failure is not null)
            {
                yield return AssistantStreamEvent.Failed(failure, Written(updates));
                yield break;
            }

            var update = stream.Current;
            updates.Add(update);
            foreach (var content in update.Contents)
            {
                switch (content)
                {
                    case TextContent { Text.Length: > 0 } text when update.Role != ChatRole.Tool:
                        yield return new AssistantStreamEvent("token", new AssistantToken(text.Text));
                        break;
                    case FunctionCallContent call:
                        yield return new AssistantStreamEvent("tool_call", new AssistantToolCallStarted(call.CallId, call.Name, JsonSerializer.SerializeToElement(call.Arguments, AssistantToolResult.JsonOptions)));
                        break;
                    case FunctionResultContent result:
                        var outcome = Outcome(result);
                        yield return new AssistantStreamEvent("tool_result", new AssistantToolCallFinished(result.CallId, outcome.Json, outcome.Error));
                        break;
                }
            }
        }

        yield return new AssistantStreamEvent("done", Answer(updates.ToChatResponse(), budget));
    }

    private static string Written(List<ChatResponseUpdate> updates) =>
        string.Concat(updates.Where(u => u.Role != ChatRole.Tool).Select(u => u.Text));

    private ChatOptions Request(AssistantBudget budget) => new()
    {
        Instructions = Instructions + $" Today is {clock.GetUtcNow():yyyy-MM-dd}.",
        Tools = [.. tools.All.Select(tool => new AssistantToolFunction(tool, toolLogger))],
        ToolMode = ChatToolMode.Auto,
        AdditionalProperties = new() { [AssistantBudget.Key] = budget },
    };

    private AskResponse Answer(ChatResponse response, AssistantBudget budget)
    {
        var calls = ToolCalls(response.Messages);
        var toolRounds = response.Messages.Count(m => m.Role == ChatRole.Tool);
        var model = response.ModelId ?? chat.GetService<ChatClientMetadata>()?.DefaultModelId ?? "unknown";
        var simulated = chat.GetService<SimulatedChatClient>() is not null;
        var stoppedBy = budget.StoppedBy ?? (StillCallingTools(response) ? "rounds" : null);
        var answer = stoppedBy is "rounds" ? budget.Explain("rounds") : Text(response.Messages);
        return new AskResponse(answer, calls, simulated, model, Rounds: toolRounds + 1, Complete: stoppedBy is null, StoppedBy: stoppedBy, Usage: budget.Usage(model));
    }

    private static AssistantToolResult Outcome(FunctionResultContent answered) =>
        answered.Result as AssistantToolResult ?? AssistantToolResult.Failed(answered.Result?.ToString() ?? "The tool call failed.");

    /// <summary>Every call the model made that got an answer, in the order made: a result, or the error the model was shown.</summary>
    private static List<AssistantToolCall> ToolCalls(IList<ChatMessage> messages)
    {
        var contents = messages.SelectMany(m => m.Contents).ToList();
        var results = new Dictionary<string, FunctionResultContent>(StringComparer.Ordinal);
        foreach (var result in contents.OfType<FunctionResultContent>())
            results.TryAdd(result.CallId, result);

        var calls = new List<AssistantToolCall>();
        foreach (var call in contents.OfType<FunctionCallContent>())
        {
            if (!results.TryGetValue(call.CallId, out var answered))
                continue;
            var outcome = Outcome(answered);
            var arguments = JsonSerializer.SerializeToElement(call.Arguments, AssistantToolResult.JsonOptions);
            calls.Add(new AssistantToolCall(call.Name, arguments, outcome.Json, outcome.Error));
        }

        return calls;
    }

    /// <summary>After the last round the loop offers no tools; a model that asks for one anyway has not answered.</summary>
    private static bool StillCallingTools(ChatResponse response)
    {
        var answered = response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Select(r => r.CallId).ToHashSet(StringComparer.Ordinal);
        return response.FinishReason == ChatFinishReason.ToolCalls
            || response.Messages.LastOrDefault(m => m.Role == ChatRole.Assistant)?.Contents.OfType<FunctionCallContent>().Any(c => !answered.Contains(c.CallId)) == true;
    }

    private static string Text(IList<ChatMessage> messages)
    {
        var last = messages.LastOrDefault(m => m.Role == ChatRole.Assistant);
        if (last is null)
            return "The language model returned no answer.";
        if (last.Text is { Length: > 0 } text)
            return text;
        // A refusal comes as error content in place of text.
        return last.Contents.OfType<ErrorContent>().FirstOrDefault()?.Message ?? "The language model returned no answer.";
    }
}

public static class AssistantToolLoop
{
    /// <summary>
    /// The <c>Assistant</c> limits on Microsoft.Extensions.AI's function invocation: <see cref="AssistantOptions.MaxToolRounds"/>
    /// model turns may call tools, after which <see cref="FunctionInvokingChatClient"/> asks once more with the tools
    /// taken away, so the model answers with what it has; at most <see cref="AssistantOptions.MaxToolCallsPerRound"/>
    /// calls of one turn run, and the model is told the rest were not.
    /// </summary>
    public static ChatClientBuilder UseAssistantToolLoop(this ChatClientBuilder builder, AssistantOptions options) =>
        builder.UseFunctionInvocation(configure: invocation =>
        {
            invocation.MaximumIterationsPerRequest = options.MaxToolRounds;
            // The tools of one request share its DbContext, which runs one query at a time.
            invocation.AllowConcurrentInvocation = false;
            // An unknown tool is the model's mistake: it hears so and may pick another.
            invocation.TerminateOnUnknownCalls = false;
            // Exception messages (database errors) are for the log; AssistantToolFunction tells the model what it may know.
            invocation.IncludeDetailedErrors = false;
            invocation.FunctionInvoker = (context, cancellationToken) =>
                context.FunctionCallIndex >= options.MaxToolCallsPerRound
                    ? new(AssistantToolResult.Failed($"At most {options.MaxToolCallsPerRound} tool calls per turn; this one was not run."))
                    : AssistantBudget.Of(context.Options)?.TakeToolCall() == false
                        ? new(AssistantToolResult.Failed($"The question's {options.MaxToolCallsPerQuestion} tool calls are spent; this one was not run."))
                        : context.CallContent.Exception is not null
                            ? new(AssistantToolResult.Failed("The arguments are not valid JSON."))
                            : context.Function.InvokeAsync(context.Arguments, cancellationToken);
        })
        // Inside the loop, so every model turn passes the question's budget.
        .Use(inner => new AssistantBudgetChatClient(inner));
}
