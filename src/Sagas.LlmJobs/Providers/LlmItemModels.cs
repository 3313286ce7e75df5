using Sagas.Core.Http;

namespace Sagas.LlmJobs.Providers;

/// <summary>One unit of work for the model.</summary>
/// <param name="ItemId">Our item id; becomes the batch <c>custom_id</c> and the response metadata, so it must be unique within a job.</param>
/// <param name="Model">Provider model name; the provider's default when null.</param>
/// <param name="Instructions">System-level instructions (the job kind's default when the job gives none).</param>
/// <param name="Input">The text to decide on.</param>
/// <param name="Reference">Who sent it (job and submission claim), stored with the provider's task so that an operator
/// can find a response whose answer was lost; the Responses API offers no way to look it up by it.</param>
public sealed record LlmItemRequest(string ItemId, string? Model, string Instructions, string Input, string? Reference = null);

public enum LlmItemStatus
{
    Queued,
    InProgress,
    Succeeded,
    Failed,
    Cancelled,
}

public static class LlmItemStatusExtensions
{
    public static bool IsTerminal(this LlmItemStatus status) =>
        status is LlmItemStatus.Succeeded or LlmItemStatus.Failed or LlmItemStatus.Cancelled;
}

/// <param name="CachedInputTokens">Input tokens served from the provider's prompt cache, a part of <paramref name="InputTokens"/>
/// (OpenAI's <c>usage.input_tokens_details.cached_tokens</c>).</param>
public sealed record LlmTokenUsage(long InputTokens, long OutputTokens, long CachedInputTokens = 0)
{
    public long TotalTokens => InputTokens + OutputTokens;
}

/// <param name="ProviderTaskId">The id to poll and cancel with; store it with the item.</param>
public sealed record LlmItemSubmission(string ProviderTaskId, LlmItemStatus Status, RateLimitSnapshot RateLimit);

/// <summary>What the provider says about one task.</summary>
/// <param name="ProviderStatus">The provider's own status word, kept for diagnostics (e.g. <c>incomplete</c>).</param>
/// <param name="Decision">Set exactly when <paramref name="Status"/> is <see cref="LlmItemStatus.Succeeded"/>.</param>
/// <param name="Error">Set when <paramref name="Status"/> is <see cref="LlmItemStatus.Failed"/>.</param>
public sealed record LlmItemOutcome(
    string ProviderTaskId,
    LlmItemStatus Status,
    string ProviderStatus,
    FlagDecision? Decision,
    LlmTokenUsage? Usage,
    LlmProviderError? Error,
    RateLimitSnapshot RateLimit);
