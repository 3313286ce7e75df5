using System.Text.Json;

namespace Sagas.Api.Assistant;

public sealed record AskRequest(string? Prompt);

/// <summary>One tool call the model made: what it asked and what our data answered (or the error the model was shown).</summary>
public sealed record AssistantToolCall(string Name, JsonElement Arguments, JsonElement? Result, string? Error);

/// <summary>
/// The answer; <see cref="Simulated"/> is true when no language model wrote it. <see cref="Rounds"/> counts the model's
/// turns: one per round of tool calls, plus the one that answered.
/// <see cref="Complete"/> is false when the question's budget (<see cref="StoppedBy"/>: <c>rounds</c>, <c>tool_calls</c>,
/// <c>tokens</c> or <c>seconds</c>) ended it before the model's own answer: the answer then says so, and the tool calls
/// made so far are listed.
/// </summary>
public sealed record AskResponse(
    string Answer, IReadOnlyList<AssistantToolCall> ToolCalls, bool Simulated, string Model, int Rounds,
    bool Complete = true, string? StoppedBy = null, AssistantUsage? Usage = null);

/// <summary>Tokens the model reported for every turn of the question, and their cost under the shared price table (<c>Prices</c>); null when a turn's model has no price.</summary>
public sealed record AssistantUsage(long InputTokens, long OutputTokens, decimal? CostUsd);

/// <summary>The language model could not be reached or refused the request.</summary>
public sealed class AssistantUnavailableException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The provider kept answering 429 through its retries: the caller may ask again later.</summary>
    public bool RateLimited { get; init; }

    /// <summary>How long the provider asked to be left alone (its last <c>retry-after</c>), when it said.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The provider answered the call with an error status other than 429 (the request itself was refused).</summary>
    public bool Refused { get; init; }

    /// <summary>That status was a 5xx or 408: the provider's failure, counted by the model's circuit breaker.</summary>
    public bool ServerFault { get; init; }
}

/// <summary>
/// One server-sent event of a streamed answer: <see cref="Type"/> is the SSE event name, <see cref="Data"/> its JSON.
/// An <c>error</c> event also carries the <see cref="Failure"/> itself, for the endpoint (it is not sent).
/// </summary>
public sealed record AssistantStreamEvent(string Type, object Data, AssistantUnavailableException? Failure = null)
{
    public static AssistantStreamEvent Failed(AssistantUnavailableException failure, string partialAnswer) => new(
        "error",
        new AssistantStreamError(
            failure.RateLimited ? StatusCodes.Status429TooManyRequests : StatusCodes.Status502BadGateway,
            failure.RateLimited ? "The assistant's language model is rate limited" : "The assistant's language model is unavailable",
            failure.Message,
            partialAnswer),
        failure);
}

/// <summary>Words of the answer as the model writes them.</summary>
public sealed record AssistantToken(string Text);

/// <summary>The model asked for a tool; its result follows as <see cref="AssistantToolCallFinished"/> with the same id.</summary>
public sealed record AssistantToolCallStarted(string Id, string Name, JsonElement Arguments);

public sealed record AssistantToolCallFinished(string Id, JsonElement? Result, string? Error);

/// <summary>The stream ended early: what the JSON route would answer with <see cref="Status"/>, and the words written before.</summary>
public sealed record AssistantStreamError(int Status, string Title, string Detail, string PartialAnswer);

/// <summary>One recorded question (<c>assistant_questions</c>), as <c>GET /api/assistant/questions</c> lists it.</summary>
public sealed record AssistantQuestionView(
    Guid Id, DateTimeOffset AskedAt, string Provider, string Model, bool Streamed, string Outcome, string? StoppedBy,
    long InputTokens, long OutputTokens, decimal? CostUsd, int ToolCalls, int Rounds, int PromptCharacters, int ExecutionTimeMs, string? Error)
{
    public static AssistantQuestionView From(Sagas.Modules.Assistant.AssistantQuestion q) => new(
        q.Id, q.AskedAt, q.Provider, q.Model, q.Streamed, q.Outcome, q.StoppedBy, q.InputTokens, q.OutputTokens, q.Cost,
        q.ToolCalls, q.Rounds, q.PromptCharacters, q.ExecutionTimeMs, q.ErrorMessage);
}
