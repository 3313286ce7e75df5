namespace Sagas.Contracts.LlmJobs;

/// <summary>Submits a job of many items to an LLM provider. Published by the API after validation.</summary>
public sealed record SubmitLlmJob(
    Guid JobId,
    string Kind,
    string? Model,
    string? Instructions,
    LlmJobPriority Priority,
    LlmJobMode Mode,
    IReadOnlyList<LlmJobItemInput> Items,
    DateTimeOffset ExpiresAt,
    string? SubmittedBy);

/// <summary>One unit of work: an input about one entity. <paramref name="ItemId"/> is unique within its job.</summary>
public sealed record LlmJobItemInput(string ItemId, string EntityType, string EntityId, string Input);

/// <summary>Stops a job: provider tasks are cancelled and unfinished items end as cancelled.</summary>
public sealed record CancelLlmJob(Guid JobId, string? Reason);

/// <summary>Sends a job's queued items to the provider (in slices; the consumer continues itself until none are left).</summary>
public sealed record StartLlmJobItems(Guid JobId);

/// <summary>Ends every unfinished item of a job as cancelled or, when the deadline passed, as failed.</summary>
public sealed record StopLlmJobItems(Guid JobId, LlmJobStopReason Reason, string? Detail);

/// <summary>The recurring tick: finds jobs whose next poll is due and hands each to a poller.</summary>
public sealed record PollLlmJobs;

/// <summary>Polls one job's unfinished items (or batches) under the lease <paramref name="LeaseId"/>.</summary>
/// <param name="LeasedAt">The instant the lease was given, from which the job's next poll is counted: the tick's scheduled
/// instant, or the commit of the cycle that took the job on itself. Absent in messages of older workers: then the cycle's
/// start.</param>
public sealed record PollLlmJob(Guid JobId, Guid LeaseId, DateTimeOffset? LeasedAt = null);

/// <summary>The saga's own deadline: when it fires and the job is still active, unfinished items fail as expired.</summary>
public sealed record LlmJobDeadlineReached(Guid JobId);

public enum LlmJobStopReason
{
    Cancelled,
    Expired,
}

public enum LlmJobPriority
{
    Low = 0,
    Normal = 1,
    High = 2,
}

public enum LlmJobMode
{
    /// <summary>One OpenAI background response per item, polled individually.</summary>
    Background,

    /// <summary>One OpenAI batch per chunk of items, polled as a whole; half the price, up to 24 h.</summary>
    Batch,
}

/// <summary>The job's budget was raised after it paused: its queued items are sent again. Published by the API; a job that is not paused ignores it.</summary>
public sealed record ResumeLlmJob(Guid JobId);
