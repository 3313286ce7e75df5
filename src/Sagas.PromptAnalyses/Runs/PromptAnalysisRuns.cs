using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Modules.Runs;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.StateMachines;

namespace Sagas.PromptAnalyses.Runs;

/// <summary>
/// One prompt analysed (an <see cref="AnalysisJob"/>, whose id is its saga's) is a run: it has a project and a prompt;
/// the activity is its platform calls.
/// </summary>
public sealed class PromptAnalysisRuns : WorkflowRuns
{
    public override IReadOnlyList<Type> SagaTypes { get; } = [typeof(PromptAnalysisState)];

    public override IReadOnlyList<string> Statuses => AnalysisJobStatus.All;

    public override IQueryable<RunRow> Rows(SagasDbContext db) =>
        db.Set<AnalysisJob>().Select(job => new RunRow
        {
            Id = job.Id,
            Status = job.Status,
            ProjectId = job.ProjectId,
            Title = job.PromptText,
            CreatedAt = job.CreatedAt,
            FinishedAt = job.CompletedAt,
            ParentId = job.RunId,
        });

    public override IReadOnlyList<string> CancellableStatuses { get; } = [AnalysisJobStatus.Pending, AnalysisJobStatus.Running];

    public override object? CancelCommand(Guid id, string? reason) => new CancelPromptAnalysis(id, reason);

    /// <summary>An analysis is shown on its run's page, opened at the analysis.</summary>
    public override string? DetailRoute(RunRow row) => $"#/analyses/runs/{row.ParentId}/{row.Id}";

    public override async Task<IReadOnlyList<RunActivityMinute>> ActivityAsync(SagasDbContext db, Guid id, CancellationToken cancellationToken)
    {
        var calls = await db.Set<PlatformResponse>().AsNoTracking()
            .Where(response => response.AnalysisJobId == id && response.CompletedAt != null)
            .Take(RunActivity.MaxRows)
            .Select(response => new { At = response.CompletedAt!.Value, Failed = response.Status == PlatformResponseStatus.Error })
            .ToListAsync(cancellationToken);
        return RunActivity.PerMinute("platform calls", calls.Select(c => (c.At, c.Failed)));
    }
}
