using System.Runtime.CompilerServices;
using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using Sagas.Modules.Usage;

namespace Sagas.Api.Assistant;

/// <summary>
/// What one question has spent: tokens as the model reports them per turn and tool calls run. It travels with the
/// question's <see cref="ChatOptions"/>, so the one chat client pipeline serves every question with its own tally.
/// </summary>
/// <param name="prices">The shared price table each turn is priced under; without it the cost is unknown.</param>
public sealed class AssistantBudget(AssistantOptions options, PriceTable? prices = null)
{
    internal const string Key = "sagas.assistant.budget";

    private long _inputTokens;
    private long _outputTokens;
    private int _toolCalls;
    private readonly ConcurrentQueue<AssistantTurn> _turns = new();

    public long InputTokens => Interlocked.Read(ref _inputTokens);

    public long OutputTokens => Interlocked.Read(ref _outputTokens);

    /// <summary>Why the question was stopped before the model's own answer, or null.</summary>
    public string? StoppedBy { get; internal set; }

    /// <summary>The conversation as last sent to the model: the calls and results so far, should time run out.</summary>
    public IReadOnlyList<ChatMessage> Conversation { get; internal set; } = [];

    public static AssistantBudget? Of(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(Key, out var budget) == true ? budget as AssistantBudget : null;

    /// <summary>Every model turn that reported its usage, in order: one <c>model_usage</c> row each.</summary>
    public IReadOnlyList<AssistantTurn> Turns => [.. _turns];

    internal void Add(UsageDetails? usage, string? model)
    {
        if (usage is null)
            return;
        Interlocked.Add(ref _inputTokens, usage.InputTokenCount ?? 0);
        Interlocked.Add(ref _outputTokens, usage.OutputTokenCount ?? 0);
        _turns.Enqueue(new AssistantTurn(model, usage.InputTokenCount ?? 0, usage.OutputTokenCount ?? 0, usage.CachedInputTokenCount ?? 0));
    }

    private string Provider => options.Provider.Trim().ToLowerInvariant();

    /// <summary>The sum of every turn's price; null when a turn's model has no price (or no table was given).</summary>
    private decimal? Cost(string fallbackModel)
    {
        if (prices is null)
            return null;
        // No turn reported anything: nothing spent, as far as the configured model has a price at all.
        if (_turns.IsEmpty)
            return prices.Find(Provider, fallbackModel, DateTimeOffset.UtcNow) is null ? null : 0m;
        var total = 0m;
        foreach (var turn in _turns)
        {
            if (prices.Quote(Provider, turn.Model ?? fallbackModel, turn.InputTokens, turn.OutputTokens, 0, DateTimeOffset.UtcNow, cachedInputTokens: turn.CachedInputTokens).Cost is not { } cost)
                return null;
            total += cost;
        }

        return total;
    }

    /// <summary>Takes one tool call from the budget; false when none is left.</summary>
    internal bool TakeToolCall() => Interlocked.Increment(ref _toolCalls) <= options.MaxToolCallsPerQuestion;

    /// <summary>The budget a new model turn would exceed, or null when the turn may start.</summary>
    internal string? Spent() =>
        InputTokens + OutputTokens >= options.MaxTokensPerQuestion ? "tokens"
        : Volatile.Read(ref _toolCalls) >= options.MaxToolCallsPerQuestion ? "tool_calls"
        : null;

    /// <summary>Tool calls answered so far, read off the conversation as last sent to the model.</summary>
    public int ToolCallsAnswered => Conversation.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Count();

    public AssistantUsage Usage(string model = "unknown") => new(InputTokens, OutputTokens, Cost(model));

    public string Explain(string stoppedBy) => stoppedBy switch
    {
        "tokens" => $"This question used its budget of {options.MaxTokensPerQuestion:N0} tokens before the model answered. The tool results so far are listed; ask a narrower question for a full answer.",
        "tool_calls" => $"This question used its budget of {options.MaxToolCallsPerQuestion} tool calls before the model answered. The tool results so far are listed; ask a narrower question for a full answer.",
        "seconds" => $"This question ran out of its time budget ({options.MaxTimePerQuestion.TotalSeconds:N0} s) before the model answered. The tool results so far are listed; ask again, or a narrower question.",
        _ => $"The assistant stopped after {options.MaxToolRounds} rounds of tool calls without a final answer. Ask a narrower question.",
    };
}

/// <summary>
/// Sits between the tool loop and the provider, so it sees every model turn of a question: it adds up the tokens each
/// turn reports and, once the question's tokens or tool calls are spent, answers the turn itself instead of the model,
/// which ends the loop with what the tools gave so far.
/// </summary>
public sealed class AssistantBudgetChatClient(IChatClient inner) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var budget = AssistantBudget.Of(options);
        if (budget is null)
            return await base.GetResponseAsync(messages, options, cancellationToken);

        var conversation = messages.ToList();
        budget.Conversation = conversation;
        if (Stop(budget) is { } stop)
            return stop;

        var response = await base.GetResponseAsync(conversation, options, cancellationToken);
        budget.Add(response.Usage, response.ModelId);
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var budget = AssistantBudget.Of(options);
        var conversation = messages.ToList();
        if (budget is not null)
        {
            budget.Conversation = conversation;
            if (Stop(budget) is { } stop)
            {
                foreach (var update in stop.ToChatResponseUpdates())
                    yield return update;
                yield break;
            }
        }

        string? model = null;
        await foreach (var update in base.GetStreamingResponseAsync(conversation, options, cancellationToken))
        {
            model = update.ModelId ?? model;
            foreach (var usage in update.Contents.OfType<UsageContent>())
                budget?.Add(usage.Details, model);
            yield return update;
        }
    }

    private static ChatResponse? Stop(AssistantBudget budget)
    {
        if (budget.Spent() is not { } reason)
            return null;
        budget.StoppedBy = reason;
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, budget.Explain(reason))) { FinishReason = ChatFinishReason.Stop };
    }
}

/// <summary>One model turn's usage as the provider reported it; <see cref="Model"/> is null when the turn named none.</summary>
public sealed record AssistantTurn(string? Model, long InputTokens, long OutputTokens, long CachedInputTokens);
