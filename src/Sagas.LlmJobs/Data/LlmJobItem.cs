namespace Sagas.LlmJobs.Data;

public class LlmJobItem
{
    public Guid JobId { get; set; }

    public string ItemId { get; set; } = "";

    /// <summary>Position in the submitted list; pages and provider submission follow it.</summary>
    public int Sequence { get; set; }

    public string EntityType { get; set; } = "";

    public string EntityId { get; set; } = "";

    public string Input { get; set; } = "";

    /// <summary>queued → submitting → processing → succeeded | failed | cancelled (see <see cref="LlmJobItemStatus"/>).</summary>
    public string Status { get; set; } = LlmJobItemStatus.Queued;

    /// <summary>
    /// The delivery of <c>StartLlmJobItems</c> (its message id) that took this item to send it to the provider; only its
    /// result is recorded. Null unless <see cref="Status"/> is submitting.
    /// </summary>
    public Guid? SubmitClaimId { get; set; }

    /// <summary>After this another delivery may take the item over: the claimant is presumed dead.</summary>
    public DateTimeOffset? SubmitClaimedUntil { get; set; }

    /// <summary>The provider's response id (background mode).</summary>
    public string? ProviderTaskId { get; set; }

    /// <summary>The provider's batch id (batch mode).</summary>
    public string? ProviderBatchId { get; set; }

    public bool? Flagged { get; set; }

    public string? Category { get; set; }

    public double? Confidence { get; set; }

    public string? Reason { get; set; }

    public string? Error { get; set; }

    public int? InputTokens { get; set; }

    public int? OutputTokens { get; set; }

    public int PollCount { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? SubmittedAt { get; set; }

    public DateTimeOffset? LastPolledAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    public bool IsTerminal => Status is LlmJobItemStatus.Succeeded or LlmJobItemStatus.Failed or LlmJobItemStatus.Cancelled;
}

public static class LlmJobItemStatus
{
    public const string Queued = "queued";

    /// <summary>Claimed by one delivery, which is sending it to the provider now.</summary>
    public const string Submitting = "submitting";
    public const string Processing = "processing";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static IReadOnlyList<string> All { get; } = [Queued, Submitting, Processing, Succeeded, Failed, Cancelled];
}
