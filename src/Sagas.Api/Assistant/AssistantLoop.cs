using System.Text.Json;
using Microsoft.Extensions.AI;
using Sagas.Modules.Assistant;

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
    TimeProvider clock,
    ILogger<AssistantToolFunction> toolLogger)
{
    /// <summary>The assistant's chat client is keyed: another feature's model is not the assistant's.</summary>
    public const string ChatClientKey = "assistant";

    private const string Instructions =
        "You answer questions about this system's own data: LLM jobs, scan sessions and the other workflows. " +
        "Use the tools to look numbers up; never guess a figure a tool can give. Tools are read-only. " +
        "Dates are UTC. Answer briefly and state the period the figures cover. If no tool can answer, say so.";

    public async Task<AskResponse> AskAsync(string prompt, CancellationToken cancellationToken)
    {
        var request = new ChatOptions
        {
            Instructions = Instructions + $" Today is {clock.GetUtcNow():yyyy-MM-dd}.",
            Tools = [.. tools.All.Select(tool => new AssistantToolFunction(tool, toolLogger))],
            ToolMode = ChatToolMode.Auto,
        };
        var response = await chat.GetResponseAsync([new ChatMessage(ChatRole.User, prompt)], request, cancellationToken);

        var calls = ToolCalls(response.Messages);
        var toolRounds = response.Messages.Count(m => m.Role == ChatRole.Tool);
        var model = response.ModelId ?? chat.GetService<ChatClientMetadata>()?.DefaultModelId ?? "unknown";
        var simulated = chat.GetService<SimulatedChatClient>() is not null;
        var answer = StillCallingTools(response)
            ? $"The assistant stopped after {options.MaxToolRounds} rounds of tool calls without a final answer. Ask a narrower question."
            : Text(response.Messages);
        return new AskResponse(answer, calls, simulated, model, Rounds: toolRounds + 1);
    }

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
            var outcome = answered.Result as AssistantToolResult
                ?? AssistantToolResult.Failed(answered.Result?.ToString() ?? "The tool call failed.");
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
                    : context.CallContent.Exception is not null
                        ? new(AssistantToolResult.Failed("The arguments are not valid JSON."))
                        : context.Function.InvokeAsync(context.Arguments, cancellationToken);
        });
}
