namespace Sagas.Notifications.Webhooks;

/// <summary>The public event names: part of the webhook contract (docs/notifications.md); never rename one.</summary>
public static class WebhookEventTypes
{
    public const string LlmJobFinished = "llm-job.finished";

    public const string ScanSessionCompleted = "scan-session.completed";

    public const string ScanSessionFailed = "scan-session.failed";

    public const string PromptAnalysisFinished = "prompt-analysis.finished";

    public const string PromptAnalysisRunFinished = "prompt-analysis-run.finished";

    public static IReadOnlyList<string> All { get; } = [LlmJobFinished, ScanSessionCompleted, ScanSessionFailed, PromptAnalysisFinished, PromptAnalysisRunFinished];
}

/// <summary>The <c>data</c> of <c>llm-job.finished</c>. Status is completed, failed or cancelled.</summary>
public sealed record LlmJobFinishedData(Guid JobId, string Status, int TotalItems, int SucceededItems, int FailedItems, int CancelledItems, DateTimeOffset FinishedAt);

/// <summary>The <c>data</c> of <c>scan-session.completed</c>; the report is downloaded through the API.</summary>
public sealed record ScanSessionCompletedData(Guid SessionId, int TotalMatches, int TotalProcessed);

/// <summary>The <c>data</c> of <c>scan-session.failed</c>.</summary>
public sealed record ScanSessionFailedData(Guid SessionId, string Reason);

/// <summary>The <c>data</c> of <c>prompt-analysis.finished</c>: one prompt's analysis across its platforms.</summary>
public sealed record PromptAnalysisFinishedData(Guid AnalysisId, Guid RunId, Guid PromptId, string Status, int TotalPlatforms, int SucceededPlatforms, int FailedPlatforms);

/// <summary>The <c>data</c> of <c>prompt-analysis-run.finished</c>: sent once, when every analysis of the run is final.</summary>
public sealed record PromptAnalysisRunFinishedData(Guid RunId, string Trigger, string Scope, int TotalAnalyses, int CompletedAnalyses, int FailedAnalyses, DateTimeOffset FinishedAt);
