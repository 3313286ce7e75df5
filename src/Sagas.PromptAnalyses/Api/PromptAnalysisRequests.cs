using System.Text.Json;
using Sagas.Modules.Api;
using Sagas.Modules.Usage;
using Sagas.PromptAnalyses.Data;

namespace Sagas.PromptAnalyses.Api;

/// <summary>Body of <c>POST /api/projects</c> and <c>PUT /api/projects/{id}</c>.</summary>
public sealed record ProjectRequest(string? Name, List<string?>? Brands, List<string?>? Domains);

/// <summary>Body of <c>POST /api/prompts</c> and <c>PUT /api/prompts/{id}</c>; platforms default to the four real ones.</summary>
public sealed record PromptRequest(Guid? ProjectId, string? Text, bool? Active, List<string?>? Platforms);

/// <summary>Body of <c>POST /api/prompt-analyses/runs</c>; the budget is read from the raw JSON so a wrong value is named in the answer.</summary>
public sealed record StartRunRequest(string? Scope, Guid? ProjectId, Guid? PromptId, bool? Force, JsonElement? BudgetUsd = null);

public sealed record AcceptedRun(Guid RunId, bool Created);

/// <summary>Body of the cancel routes (optional).</summary>
public sealed record CancelRequest(string? Reason);

/// <param name="Id">The analysis or run the cancel was accepted for.</param>
/// <param name="RunId">Its run (the same id for a run).</param>
public sealed record AcceptedCancel(Guid Id, Guid RunId);

public sealed record ProjectView(Guid Id, string Name, IReadOnlyList<string> Brands, IReadOnlyList<string> Domains, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ProjectView From(AnalysisProject project) =>
        new(project.Id, project.Name, project.BrandNames, project.Domains, project.CreatedAt, project.UpdatedAt);
}

public sealed record PromptView(Guid Id, Guid ProjectId, string Text, bool Active, IReadOnlyList<string> Platforms, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static PromptView From(TrackedPrompt prompt) =>
        new(prompt.Id, prompt.ProjectId, prompt.Text, prompt.Active, prompt.Platforms, prompt.CreatedAt, prompt.UpdatedAt);
}

/// <summary>
/// A run with its progress, counted from its analysis jobs. Status: dispatching (the fan-out is still reading
/// prompts), running, or finished (every analysis completed, failed or cancelled, and the run recorded its
/// <see cref="FinishedAt"/>; the <c>prompt-analysis-run.finished</c> webhook leaves at that moment).
/// <see cref="Paused"/> counts the running analyses a budget has paused (they are among <see cref="Running"/>).
/// </summary>
public sealed record RunView(
    Guid Id,
    string Trigger,
    string Scope,
    Guid? ProjectId,
    Guid? PromptId,
    DateTimeOffset? SlotTime,
    bool Forced,
    string Status,
    int? TotalAnalyses,
    int Pending,
    int Running,
    int Completed,
    int Failed,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DispatchedAt,
    DateTimeOffset? FinishedAt,
    int Cancelled = 0,
    DateTimeOffset? CancelRequestedAt = null,
    int Paused = 0);

/// <param name="Usage">Tokens and cost of every platform call of the run (all its analyses, not only this page), from <c>model_usage</c>.</param>
public sealed record RunDetailView(RunView Run, PageOf<AnalysisJobView> Analyses, UsageTotal? Usage = null)
{
    /// <summary>The run's budget (limit, spent, reserved, pause), when it has one.</summary>
    public Sagas.Modules.Usage.Budgets.BudgetView? Budget { get; init; }
}

public sealed record AnalysisJobView(
    Guid Id,
    Guid PromptId,
    Guid ProjectId,
    string PromptText,
    string Status,
    int TotalPlatforms,
    int CompletedPlatforms,
    int FailedPlatforms,
    long TotalTokens,
    decimal Cost,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    IReadOnlyList<PlatformResponseView> Responses)
{
    /// <summary>A budget (the run's or the project's for the day) refused a platform's ask: it waits, unasked, for a raise. The status stays running.</summary>
    public bool Paused { get; init; }

    /// <summary>The refusal, e.g. <c>run budget of $0.50 reached: …</c>; null unless <see cref="Paused"/>.</summary>
    public string? PausedReason { get; init; }
}

public sealed record PlatformResponseView(
    Guid Id,
    string Platform,
    string? Model,
    string Status,
    string? ResponseText,
    long? InputTokens,
    long? OutputTokens,
    long? TotalTokens,
    decimal? Cost,
    int? ExecutionTimeMs,
    string? Metadata,
    string? ErrorMessage,
    bool? BrandMentioned,
    bool? DomainCited,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset? CompletedAt,
    IReadOnlyList<CitationView> Citations);

public sealed record CitationView(int Position, string Url, string Domain, string? Title, bool IsProjectDomain);
