namespace Sagas.Contracts.LlmJobs;

/// <summary>The job and its items are stored; the saga starts here.</summary>
public sealed record LlmJobAccepted(Guid JobId, int TotalItems, LlmJobPriority Priority, LlmJobMode Mode, DateTimeOffset ExpiresAt);

/// <summary>Every item reached the provider (or failed permanently on the way); the job is running.</summary>
public sealed record LlmJobStarted(Guid JobId, int SubmittedItems, int RejectedItems);

/// <summary>Aggregates after a poll cycle changed something; pushed to browsers.</summary>
public sealed record LlmJobProgressed(Guid JobId, int TotalItems, int ProcessedItems, int SucceededItems, int FailedItems, int CancelledItems);

/// <summary>
/// Every item is terminal. Published by whoever made the last item terminal, with the job row's final
/// <paramref name="Status"/> (completed, failed or cancelled) written in the same transaction; may arrive more than once.
/// </summary>
public sealed record LlmJobItemsFinished(Guid JobId, int TotalItems, int SucceededItems, int FailedItems, int CancelledItems, string? Status = null);

/// <summary>The job ended: <paramref name="Status"/> is completed, failed or cancelled.</summary>
public sealed record LlmJobFinished(Guid JobId, string Status, int TotalItems, int SucceededItems, int FailedItems, int CancelledItems, DateTimeOffset FinishedAt);

/// <summary>An item's flag decision was applied to its entity; for other services.</summary>
public sealed record EntityFlagged(
    string EntityType,
    string EntityId,
    bool Flagged,
    string Category,
    double Confidence,
    string Reason,
    Guid JobId,
    string ItemId,
    string Model,
    bool Simulated,
    DateTimeOffset DecidedAt);

/// <summary>
/// The job's budget could not hold the next item's estimated cost: no further item is sent to the provider, the items
/// not sent stay queued, and items already at the provider finish as usual. <paramref name="Reason"/> is shown as it is.
/// </summary>
public sealed record LlmJobPaused(Guid JobId, string Reason);
