namespace Sagas.PromptAnalyses.Data;

/// <summary>A customer project: the brands and domains every answer is checked for.</summary>
public class AnalysisProject
{
    public Guid Id { get; set; }

    public string Name { get; set; } = "";

    public List<string> BrandNames { get; set; } = [];

    /// <summary>Normalised domains (lower case, no scheme, no leading www.).</summary>
    public List<string> Domains { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A tracked prompt: asked of every platform in <see cref="Platforms"/> on each run while active.</summary>
public class TrackedPrompt
{
    public Guid Id { get; set; }

    public Guid ProjectId { get; set; }

    public string Text { get; set; } = "";

    public bool Active { get; set; } = true;

    /// <summary>Platform wire names (openai, claude, gemini, perplexity, simulated).</summary>
    public List<string> Platforms { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

public static class AnalysisRunTrigger
{
    public const string Schedule = "schedule";
    public const string OnDemand = "on-demand";
}

public static class AnalysisRunScope
{
    public const string All = "all";
    public const string Project = "project";
    public const string Prompt = "prompt";

    public static IReadOnlyList<string> Values { get; } = [All, Project, Prompt];
}

/// <summary>
/// One run over a set of prompts. <see cref="RunKey"/> is unique and is what makes a run idempotent: the schedule
/// slot time for the daily run, the scope and UTC day for an on-demand run, a fresh value for a forced re-run.
/// </summary>
public class AnalysisRun
{
    public Guid Id { get; set; }

    public string RunKey { get; set; } = "";

    /// <summary><see cref="AnalysisRunTrigger"/>.</summary>
    public string Trigger { get; set; } = AnalysisRunTrigger.OnDemand;

    /// <summary><see cref="AnalysisRunScope"/>.</summary>
    public string Scope { get; set; } = AnalysisRunScope.All;

    public Guid? ProjectId { get; set; }

    public Guid? PromptId { get; set; }

    /// <summary>The schedule slot this run belongs to (scheduled runs only).</summary>
    public DateTimeOffset? SlotTime { get; set; }

    public bool Forced { get; set; }

    public string? RequestedBy { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Set when the fan-out has read its last page; <see cref="TotalAnalyses"/> is exact from then on.</summary>
    public DateTimeOffset? DispatchedAt { get; set; }

    public int? TotalAnalyses { get; set; }

    /// <summary>
    /// Set once, by the first writer that sees the run dispatched and every analysis final; the counts below are
    /// final from then on.
    /// </summary>
    public DateTimeOffset? FinishedAt { get; set; }

    public int? CompletedAnalyses { get; set; }

    public int? FailedAnalyses { get; set; }

    public int? CancelledAnalyses { get; set; }

    /// <summary>
    /// Set by a cancel of the whole run: fan-out pages read after it create their analyses already cancelled, so a
    /// run cancelled while it is still dispatching asks nobody for its later prompts.
    /// </summary>
    public DateTimeOffset? CancelRequestedAt { get; set; }
}

public static class AnalysisJobStatus
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";

    /// <summary>Stopped by a cancel: before its claim (it never asked anyone) or while it was asking.</summary>
    public const string Cancelled = "cancelled";

    public static IReadOnlyList<string> All { get; } = [Pending, Running, Completed, Failed, Cancelled];

    /// <summary>The statuses a job no longer leaves.</summary>
    public static IReadOnlyList<string> Final { get; } = [Completed, Failed, Cancelled];
}

/// <summary>
/// One prompt analysed in one run (unique per (run, prompt)). Pending rows are the queue the claim step takes from
/// under the cluster-wide cap; the platform counters move in the same transaction as each final response row.
/// </summary>
public class AnalysisJob
{
    public Guid Id { get; set; }

    public Guid RunId { get; set; }

    public Guid PromptId { get; set; }

    public Guid ProjectId { get; set; }

    /// <summary>The prompt text when the run started: editing the prompt later does not change what this job asks.</summary>
    public string PromptText { get; set; } = "";

    public List<string> Platforms { get; set; } = [];

    /// <summary><see cref="AnalysisJobStatus"/>.</summary>
    public string Status { get; set; } = AnalysisJobStatus.Pending;

    public int TotalPlatforms { get; set; }

    public int CompletedPlatforms { get; set; }

    public int FailedPlatforms { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }
}

public static class PlatformResponseStatus
{
    public const string Processing = "processing";
    public const string Success = "success";
    public const string Error = "error";
}

/// <summary>One platform's answer to one analysis job (unique per (job, platform)).</summary>
public class PlatformResponse
{
    public Guid Id { get; set; }

    public Guid AnalysisJobId { get; set; }

    public Guid PromptId { get; set; }

    public Guid ProjectId { get; set; }

    public string Platform { get; set; } = "";

    public string? Model { get; set; }

    public string PromptText { get; set; } = "";

    public string? ResponseText { get; set; }

    /// <summary><see cref="PlatformResponseStatus"/>.</summary>
    public string Status { get; set; } = PlatformResponseStatus.Processing;

    public long? InputTokens { get; set; }

    public long? OutputTokens { get; set; }

    public long? TotalTokens { get; set; }

    public decimal? Cost { get; set; }

    public int? ExecutionTimeMs { get; set; }

    public string? MetadataJson { get; set; }

    public string? ErrorMessage { get; set; }

    public bool? BrandMentioned { get; set; }

    public bool? DomainCited { get; set; }

    /// <summary>Provider requests this answer took, retries included.</summary>
    public int Attempts { get; set; }

    /// <summary>
    /// The delivery of the ask (its message id) that may call the platform for this row; any other delivery leaves it.
    /// Null on a row that nobody holds.
    /// </summary>
    public Guid? ClaimId { get; set; }

    /// <summary>After this another delivery may take the row over: the holder is presumed dead.</summary>
    public DateTimeOffset? ClaimedUntil { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }
}

/// <summary>One source a successful answer cites (unique per (response, position)).</summary>
public class ResponseCitation
{
    public Guid ResponseId { get; set; }

    public int Position { get; set; }

    public string Url { get; set; } = "";

    public string Domain { get; set; } = "";

    public string? Title { get; set; }

    /// <summary>True when the domain is one of the project's domains (or a subdomain of one).</summary>
    public bool IsProjectDomain { get; set; }
}
