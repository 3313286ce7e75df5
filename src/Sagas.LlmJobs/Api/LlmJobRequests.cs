using System.Text.Json;

namespace Sagas.LlmJobs.Api;

/// <summary>Body of <c>POST /api/llm-jobs</c>. Enumerations are strings so that a wrong value is named in the answer.
/// <see cref="BudgetUsd"/>, when given, limits what the job's model calls may cost (see docs/budgets.md).</summary>
public sealed record SubmitLlmJobRequest(
    string? Kind,
    string? Model,
    string? Instructions,
    string? Priority,
    string? Mode,
    List<SubmitLlmJobItemRequest?>? Items,
    DateTimeOffset? ExpiresAt,
    JsonElement? BudgetUsd = null);

/// <summary>One item; <see cref="Id"/> is optional (the position is used when absent) and unique within the job.</summary>
public sealed record SubmitLlmJobItemRequest(string? Id, string? EntityType, string? EntityId, string? Input);

public sealed record CancelLlmJobRequest(string? Reason);

public sealed record AcceptedJob(Guid Id);
