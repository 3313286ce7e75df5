using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Sagas.Modules.Assistant;

namespace Sagas.Api.Assistant;

/// <summary>
/// The offline model of the embedded default and the demos: no language model and no network. Asked a question, it
/// calls the offered tools whose keywords occur in the prompt (deterministically, in the order offered) with the period
/// it reads from the prompt; given their results, it writes the answer from the tools' own sentences. It sits behind
/// the same tool loop as a real model, so the tools run exactly as they would for one. Every answer says it was
/// simulated.
/// </summary>
public sealed class SimulatedChatClient(TimeProvider clock) : IChatClient
{
    public const string ModelName = "simulated";
    public const string Label = "[simulated assistant: answers are composed from tool results by keyword matching, no language model involved]";

    private static readonly ChatClientMetadata Metadata = new("simulated", providerUri: null, ModelName);

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var conversation = messages.ToList();
        var question = conversation.FindLastIndex(m => m.Role == ChatRole.User);
        var prompt = question < 0 ? "" : conversation[question].Text;
        var since = conversation.Skip(question + 1).SelectMany(m => m.Contents).ToList();
        var results = since.OfType<FunctionResultContent>().ToList();
        var response = results.Count > 0
            ? Answer(since.OfType<FunctionCallContent>(), results)
            : CallTools(prompt, options?.Tools ?? []);
        response.Usage = EstimatedUsage(conversation, response);
        return Task.FromResult(response);
    }

    /// <summary>
    /// About four characters a token, as a model would count them: the simulated assistant's turns then show in the
    /// usage ledger like any model's (priced by the <c>simulated</c> rows of the price table, zero by default).
    /// </summary>
    private static UsageDetails EstimatedUsage(IEnumerable<ChatMessage> conversation, ChatResponse response)
    {
        static long Tokens(IEnumerable<ChatMessage> messages) =>
            1 + messages.SelectMany(m => m.Contents).Sum(c => c switch
            {
                TextContent text => text.Text.Length,
                FunctionCallContent call => call.Name.Length + 40,
                FunctionResultContent result => (result.Result?.ToString()?.Length ?? 0) + 20,
                _ => 0,
            }) / 4;

        var input = Tokens(conversation);
        var output = Tokens(response.Messages);
        return new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken);
        foreach (var update in response.ToChatResponseUpdates())
        {
            // Text comes a few words at a time, as a model's would, so a streaming caller sees it grow.
            if (update.Contents is [TextContent text])
            {
                foreach (var piece in Pieces(text.Text))
                    yield return new ChatResponseUpdate(update.Role, piece) { ModelId = update.ModelId, MessageId = update.MessageId, ResponseId = update.ResponseId };
                if (update.FinishReason is { } finish)
                    yield return new ChatResponseUpdate { Role = update.Role, FinishReason = finish, ModelId = update.ModelId, MessageId = update.MessageId, ResponseId = update.ResponseId };
                continue;
            }

            yield return update;
        }
    }

    private static IEnumerable<string> Pieces(string text)
    {
        const int WordsPerPiece = 4;
        var words = text.Split(' ');
        for (var i = 0; i < words.Length; i += WordsPerPiece)
            yield return string.Join(' ', words.Skip(i).Take(WordsPerPiece)) + (i + WordsPerPiece < words.Length ? " " : "");
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? Metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }

    private ChatResponse CallTools(string prompt, IList<AITool> offered)
    {
        var text = prompt.ToLowerInvariant();
        var tools = offered.OfType<AssistantToolFunction>().Select(f => f.Tool).ToList();
        var picked = tools.Where(tool => tool.Keywords.Any(keyword => text.Contains(keyword, StringComparison.Ordinal))).ToList();

        // A failure question is about failures, not totals: counting tools stay out unless asked for by name as well.
        var asksForFailures = picked.Any(t => t.Name == "recent_failures");
        if (asksForFailures && !text.Contains("how many", StringComparison.Ordinal) && !text.Contains("count", StringComparison.Ordinal))
            picked = [.. picked.Where(t => t.Name == "recent_failures" || !t.Name.StartsWith("count_", StringComparison.Ordinal))];

        if (picked.Count == 0)
        {
            var capabilities = new StringBuilder(Label).Append(" I can answer questions about: ")
                .Append(string.Join("; ", offered.Select(t => t.Description.TrimEnd('.'))))
                .Append(". Try for example \"How many LLM jobs failed this month?\" or \"Show recent failures\".");
            return Reply(new ChatMessage(ChatRole.Assistant, capabilities.ToString()), ChatFinishReason.Stop);
        }

        var period = AssistantPeriod.FromPrompt(prompt, clock.GetUtcNow());
        var calls = picked.Select((tool, index) => (AIContent)new FunctionCallContent($"simulated_{index + 1}", tool.Name, Arguments(tool.SimulatedArguments(prompt, period))));
        return Reply(new ChatMessage(ChatRole.Assistant, [.. calls]), ChatFinishReason.ToolCalls);
    }

    private static ChatResponse Answer(IEnumerable<FunctionCallContent> calls, IReadOnlyList<FunctionResultContent> results)
    {
        // One bullet per tool, so the dashboard shows a list rather than a paragraph.
        var answer = new StringBuilder(Label).Append('\n');
        foreach (var call in calls)
        {
            var result = results.FirstOrDefault(r => r.CallId == call.CallId)?.Result as AssistantToolResult;
            answer.Append("\n- ").Append(result?.Describe() ?? $"The {call.Name} tool failed: {result?.Error ?? "it was not run"}");
        }

        return Reply(new ChatMessage(ChatRole.Assistant, answer.ToString()), ChatFinishReason.Stop);
    }

    private static ChatResponse Reply(ChatMessage message, ChatFinishReason finishReason) =>
        new(message) { ModelId = ModelName, FinishReason = finishReason };

    private static Dictionary<string, object?> Arguments(JsonElement arguments) =>
        arguments.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone(), StringComparer.Ordinal);
}
