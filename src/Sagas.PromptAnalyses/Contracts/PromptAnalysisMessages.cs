namespace Sagas.Contracts.PromptAnalyses;

/// <summary>Recurring schedule → run starter: the daily slot fired (the slot time travels in the Quartz headers).</summary>
public sealed record RunScheduledPromptAnalyses;

/// <summary>Run starter or API → fan-out: create the run's analysis jobs for the prompts after <see cref="AfterPromptId"/>.</summary>
/// <param name="AfterPromptId">Keyset cursor: null for the first page of 1,000 prompts.</param>
public sealed record DispatchPromptAnalysisRun(Guid RunId, Guid? AfterPromptId);

/// <summary>Recurring tick and completions → claim step: start pending analyses while fewer than the cap are running.</summary>
public sealed record ClaimPromptAnalyses;

/// <summary>Claim step → analysis saga: the analysis job <see cref="AnalysisId"/> holds a slot and may ask its platforms.</summary>
public sealed record StartPromptAnalysis(Guid AnalysisId, Guid RunId, Guid PromptId, IReadOnlyList<string> Platforms);

/// <summary>Analysis saga → platform worker: ask one platform the prompt of the analysis and store the answer.</summary>
public sealed record AskPromptPlatform(Guid AnalysisId, string Platform);

/// <summary>
/// Platform worker → analysis saga: the run's (or the project's day) budget could not hold this platform's ask, which
/// was not sent; <paramref name="RefusedAt"/> lets the saga tell a pause that a resume already answered.
/// </summary>
public sealed record PromptAnalysisPaused(Guid AnalysisId, string Platform, string Reason, DateTimeOffset RefusedAt);

/// <summary>API → analysis saga: a budget of its run was raised; asks parked by a pause are sent again.</summary>
public sealed record ResumePromptAnalysis(Guid AnalysisId, DateTimeOffset RaisedAt);

/// <summary>Platform worker → analysis saga: the platform's response row is final (success or error).</summary>
public sealed record PromptPlatformAnswered(Guid AnalysisId, string Platform, bool Succeeded);

/// <summary>Analysis saga → job finisher (and anyone interested): every platform answered.</summary>
/// <param name="Status">completed (at least one platform succeeded), failed (none did) or cancelled.</param>
public sealed record PromptAnalysisFinished(Guid AnalysisId, Guid RunId, Guid PromptId, string Status, int TotalPlatforms, int SucceededPlatforms, int FailedPlatforms);

/// <summary>
/// Run finisher → anyone interested: every analysis of the run is final. Published once per run, from the
/// transaction that set the run's finish time.
/// </summary>
/// <param name="Trigger">schedule or on-demand.</param>
/// <param name="Scope">all, project or prompt.</param>
public sealed record PromptAnalysisRunFinished(Guid RunId, string Trigger, string Scope, int TotalAnalyses, int CompletedAnalyses, int FailedAnalyses, DateTimeOffset FinishedAt, int CancelledAnalyses = 0);

/// <summary>
/// API or bulk cancel → cancel step: stop one analysis. A pending one is cancelled before it starts; a running one's
/// saga stops asking. Idempotent: a finished or cancelled analysis is left as it is.
/// </summary>
public sealed record CancelPromptAnalysis(Guid AnalysisId, string? Reason);

/// <summary>API → cancel step: cancel every pending and running analysis of a run, and those its fan-out creates later.</summary>
public sealed record CancelPromptAnalysisRun(Guid RunId, string? Reason);

/// <summary>
/// Cancel step → analysis saga: the running analysis's job row is cancelled (committed); the saga asks no platform it
/// has not asked yet and finishes as cancelled.
/// </summary>
public sealed record PromptAnalysisCancelled(Guid AnalysisId, Guid RunId, Guid PromptId, string? Reason);
