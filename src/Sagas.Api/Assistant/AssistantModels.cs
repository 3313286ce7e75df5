using System.Text.Json;

namespace Sagas.Api.Assistant;

public sealed record AskRequest(string? Prompt);

/// <summary>One tool call the model made: what it asked and what our data answered (or the error the model was shown).</summary>
public sealed record AssistantToolCall(string Name, JsonElement Arguments, JsonElement? Result, string? Error);

/// <summary>
/// The answer; <see cref="Simulated"/> is true when no language model wrote it. <see cref="Rounds"/> counts the model's
/// turns: one per round of tool calls, plus the one that answered.
/// </summary>
public sealed record AskResponse(string Answer, IReadOnlyList<AssistantToolCall> ToolCalls, bool Simulated, string Model, int Rounds);

/// <summary>The language model could not be reached or refused the request.</summary>
public sealed class AssistantUnavailableException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The provider kept answering 429 through its retries: the caller may ask again later.</summary>
    public bool RateLimited { get; init; }
}
