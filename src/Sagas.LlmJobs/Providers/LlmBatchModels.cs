using Sagas.Core.Http;

namespace Sagas.LlmJobs.Providers;

/// <param name="Reference">Names this submission (job, claim, first item), stored as batch metadata: an operator finds the
/// batch by it, and <see cref="ILlmJobProvider.FindBatchAsync"/> does too, so one submission never makes two batches.</param>
public sealed record LlmBatchRequest(string Reference, IReadOnlyList<LlmItemRequest> Items);

public sealed record LlmBatchSubmission(string BatchId, string InputFileId, int ItemCount, LlmBatchStatus Status);

public enum LlmBatchState
{
    Validating,
    InProgress,
    Finalizing,
    Completed,
    Failed,
    Expired,
    Cancelling,
    Cancelled,
}

public static class LlmBatchStateExtensions
{
    public static bool IsTerminal(this LlmBatchState state) =>
        state is LlmBatchState.Completed or LlmBatchState.Failed or LlmBatchState.Expired or LlmBatchState.Cancelled;
}

public sealed record LlmBatchRequestCounts(int Total, int Completed, int Failed);

/// <param name="Errors">Batch-level errors (e.g. validation of the input file failed); per-item errors are in the error file.</param>
public sealed record LlmBatchStatus(
    string BatchId,
    LlmBatchState State,
    string ProviderStatus,
    LlmBatchRequestCounts RequestCounts,
    string? OutputFileId,
    string? ErrorFileId,
    IReadOnlyList<LlmProviderError> Errors,
    RateLimitSnapshot RateLimit);

/// <summary>The result of one batch line for one of our items.</summary>
public sealed record LlmBatchItemResult(
    string ItemId,
    LlmItemStatus Status,
    FlagDecision? Decision,
    LlmTokenUsage? Usage,
    LlmProviderError? Error);

/// <summary>A line of an output or error file that names no item we can trust (not JSON, no <c>custom_id</c>).</summary>
public sealed record UnattributedBatchLine(string FileId, int LineNumber, string Problem);

public sealed record LlmBatchResults(
    string BatchId,
    IReadOnlyList<LlmBatchItemResult> Items,
    IReadOnlyList<UnattributedBatchLine> UnattributedLines)
{
    /// <summary>
    /// Items of the batch that no line mentions. Once the batch is terminal they will never get a result: the
    /// workflow fails them (or resubmits them) instead of waiting.
    /// </summary>
    public IReadOnlyList<string> MissingItems(IEnumerable<string> submittedItemIds)
    {
        var seen = Items.Select(i => i.ItemId).ToHashSet(StringComparer.Ordinal);
        return submittedItemIds.Where(id => !seen.Contains(id)).ToList();
    }
}
