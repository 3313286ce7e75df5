using Sagas.Contracts.LlmJobs;

namespace Sagas.LlmJobs.Data;

/// <summary>A job as users see it: what was asked, how far it got, how it ended. Counters are exact by construction.</summary>
public class LlmJob
{
    public Guid Id { get; set; }

    public string Kind { get; set; } = "";

    public string Model { get; set; } = "";

    public string Instructions { get; set; } = "";

    public LlmJobPriority Priority { get; set; }

    public LlmJobMode Mode { get; set; }

    /// <summary>queued → running → completed | failed | cancelled (see <see cref="LlmJobStatus"/>).</summary>
    public string Status { get; set; } = LlmJobStatus.Queued;

    public string Provider { get; set; } = "";

    /// <summary>Results came from the simulated provider; every view labels them so.</summary>
    public bool Simulated { get; set; }

    public int TotalItems { get; set; }

    public int ProcessedItems { get; set; }

    public int SucceededItems { get; set; }

    public int FailedItems { get; set; }

    public int CancelledItems { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>Why the job stopped early, in words (the cancel reason or the deadline); the saga keeps the kind as <c>LlmJobStopReason</c>.</summary>
    public string? StopDetail { get; set; }

    public string? SubmittedBy { get; set; }

    /// <summary>When the poller should look at this job next; null while nothing is in flight.</summary>
    public DateTimeOffset? NextPollAt { get; set; }

    /// <summary>The current adaptive poll interval.</summary>
    public int PollIntervalMs { get; set; }

    /// <summary>The poller holding this job; only its writes count until <see cref="LeaseUntil"/>.</summary>
    public Guid? LeaseId { get; set; }

    public DateTimeOffset? LeaseUntil { get; set; }

    public string? LastError { get; set; }

    /// <summary>Bumped by every item-changing transaction as its first statement, so such transactions queue per job.</summary>
    public long Revision { get; set; }

    public bool IsActive => Status is LlmJobStatus.Queued or LlmJobStatus.Running;
}

public static class LlmJobStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    /// <summary>Never stored: the API shows an active job whose budget stopped it as paused (the row stays queued or running).</summary>
    public const string Paused = "paused";

    public static IReadOnlyList<string> All { get; } = [Queued, Running, Completed, Failed, Cancelled];
}
