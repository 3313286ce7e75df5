using System.Linq.Expressions;
using Sagas.Persistence;

// These expressions run in the database as lower(…) LIKE: culture overloads have no SQL translation.
#pragma warning disable CA1304, CA1311, CA1862

namespace Sagas.Modules.Runs;

/// <summary>
/// How a workflow describes its runs to the shared run list and run history (<c>/api/runs</c>, the dashboard's Runs
/// page and timelines). A run is one saga instance: its id is the saga's correlation id.
/// </summary>
public abstract class WorkflowRuns
{
    /// <summary>The saga state types whose history (<c>saga_history.saga</c>) belongs to this workflow's runs.</summary>
    public abstract IReadOnlyList<Type> SagaTypes { get; }

    /// <summary>The statuses <see cref="RunRow.Status"/> takes, in the order a run goes through them (the list's filter values).</summary>
    public abstract IReadOnlyList<string> Statuses { get; }

    /// <summary>
    /// One row per run, projected from the workflow's own tables. The run list filters and orders it by
    /// (<see cref="RunRow.CreatedAt"/>, <see cref="RunRow.Id"/>) descending, so the table behind it needs an index
    /// on its creation time (and one per filter that must stay fast).
    /// </summary>
    public abstract IQueryable<RunRow> Rows(SagasDbContext db);

    /// <summary>
    /// The free-text filter (already lower case) beyond the run id, which the list matches itself: by default the
    /// title contains it; a workflow may also look into its detail rows (file names, prompts).
    /// </summary>
    public virtual Expression<Func<RunRow, bool>> TextMatches(SagasDbContext db, string text) =>
        row => row.Title.ToLower().Contains(text);

    /// <summary>
    /// What the workflow's consumers did for the run, counted per minute (files recorded, items polled, platform
    /// calls): the context of the run's timeline, never row by row.
    /// </summary>
    public virtual Task<IReadOnlyList<RunActivityMinute>> ActivityAsync(SagasDbContext db, Guid id, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<RunActivityMinute>>([]);

    /// <summary>
    /// Where the dashboard shows one run (a hash route such as <c>#/jobs/{id}</c>), so the Runs page can link each row to
    /// its workflow's page; null when the workflow has no page for a single run.
    /// </summary>
    public virtual string? DetailRoute(RunRow row) => null;

    /// <summary>The statuses in which a run can still be cancelled; empty when the workflow has no cancel path.</summary>
    public virtual IReadOnlyList<string> CancellableStatuses => [];

    /// <summary>
    /// The workflow's own cancel command for one run, which a bulk cancel publishes as the workflow's cancel route does;
    /// the saga must treat it as idempotent (a cancel of a run that has finished or was cancelled already changes nothing).
    /// </summary>
    public virtual object? CancelCommand(Guid id, string? reason) => null;
}

/// <summary>One run as the shared list shows it. A class with setters so that EF Core can project into it and filter on it.</summary>
public sealed class RunRow
{
    public Guid Id { get; set; }

    /// <summary>The workflow's own status words (<see cref="WorkflowRuns.Statuses"/>).</summary>
    public string Status { get; set; } = "";

    /// <summary>The project the run belongs to, for workflows that have projects.</summary>
    public Guid? ProjectId { get; set; }

    /// <summary>A short description: the job kind, the scan's source, the prompt.</summary>
    public string Title { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>What the run belongs to when the workflow shows runs grouped (a prompt-analysis run for one analysis).</summary>
    public Guid? ParentId { get; set; }
}

/// <param name="Minute">The start of the minute (UTC).</param>
/// <param name="Activity">What was counted, in the workflow's words (<c>files recorded</c>, <c>platform calls</c>).</param>
/// <param name="Count">How many in that minute.</param>
/// <param name="Failed">How many of them failed.</param>
public sealed record RunActivityMinute(DateTimeOffset Minute, string Activity, int Count, int Failed);
