using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sagas.Api.Assistant;
using Sagas.Modules.Assistant;
using Sagas.Modules.Usage;

namespace Sagas.Api.Tests.Assistant;

/// <summary>A model that answers from a script: the n-th request (from 1) gets what the script returns for it. Every request is kept.</summary>
internal sealed class ScriptedChatClient(Func<int, ChatResponse> script) : IChatClient
{
    public List<(List<ChatMessage> Messages, ChatOptions? Options)> Requests { get; } = [];

    public static ChatResponse Calls(params FunctionCallContent[] calls) =>
        new(new ChatMessage(ChatRole.Assistant, [.. calls])) { FinishReason = ChatFinishReason.ToolCalls, ModelId = "scripted" };

    public static ChatResponse Text(string text) =>
        new(new ChatMessage(ChatRole.Assistant, text)) { FinishReason = ChatFinishReason.Stop, ModelId = "scripted" };

    public static FunctionCallContent Call(string id, string name, string arguments = "{}") =>
        new(id, name, JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments));

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Requests.Add(([.. messages], options));
        return Task.FromResult(script(Requests.Count));
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates())
            yield return update;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}

/// <summary>A tool over no data: it answers what <c>answer</c> makes of its arguments, and counts its calls.</summary>
internal sealed class FakeTool(string name, Func<JsonElement, object> answer, params string[] keywords) : IAssistantTool
{
    public const string Schema =
        """
        {
          "type": "object",
          "properties": { "period": { "type": "string", "enum": ["all", "today"] }, "limit": { "type": ["integer", "null"] } },
          "required": ["period", "limit"],
          "additionalProperties": false
        }
        """;

    public List<JsonElement> Received { get; } = [];

    public string Name => name;

    public string Description => $"Answers {name}.";

    public string ParametersSchema => Schema;

    public IReadOnlyList<string> Keywords => keywords;

    public JsonElement SimulatedArguments(string prompt, AssistantPeriod period) =>
        JsonSerializer.SerializeToElement(new { period = period.Name ?? "all", limit = (int?)null });

    public Task<object> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        Received.Add(arguments.Clone());
        return Task.FromResult(answer(arguments));
    }

    public string Describe(object result) => $"{name} says {JsonSerializer.Serialize(result)}.";

    public static FakeTool Counting(string name, params string[] keywords) => new(name, _ => new Counted(name, 3), keywords);
}

internal sealed record Counted(string Subject, int TotalCount);

/// <summary>Keeps what was logged, to show what the log gets and the model does not.</summary>
internal sealed class ListLogger : ILogger
{
    public List<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Add((logLevel, formatter(state, exception), exception));
}

internal static class AssistantLoops
{
    /// <summary>The production loop around a model of the spec's choosing.</summary>
    public static AssistantLoop Around(IChatClient model, AssistantOptions options, params IAssistantTool[] tools) =>
        Around(model, options, new PriceTable([]), tools);

    /// <summary>The same, pricing each turn under <paramref name="prices"/>.</summary>
    public static AssistantLoop Around(IChatClient model, AssistantOptions options, PriceTable prices, params IAssistantTool[] tools) =>
        new(model.AsBuilder().UseAssistantToolLoop(options).Build(), new AssistantToolRegistry(tools), options, prices, TimeProvider.System, NullLogger<AssistantToolFunction>.Instance);

    /// <summary>USD per million tokens for any model of <paramref name="provider"/>.</summary>
    public static PriceTable AnyModel(string provider, decimal input, decimal output) => new(
    [
        new ModelPrice
        {
            Provider = provider, Model = PriceTable.AnyModel, InputPerMillion = input, OutputPerMillion = output,
            EffectiveFrom = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero),
        },
    ]);
}
