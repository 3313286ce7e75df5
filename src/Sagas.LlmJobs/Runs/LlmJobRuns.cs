using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.LlmJobs;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.StateMachines;
using Sagas.Modules.Runs;
using Sagas.Persistence;

namespace Sagas.LlmJobs.Runs;

/// <summary>An LLM job is a run: its id is the job's (and its saga's); the activity is its items finishing.</summary>
public sealed class LlmJobRuns : WorkflowRuns
{
    public override IReadOnlyList<Type> SagaTypes { get; } = [typeof(LlmJobState)];

    public override IReadOnlyList<string> Statuses => LlmJobStatus.All;

    public override IQueryable<RunRow> Rows(SagasDbContext db) =>
        db.Set<LlmJob>().Select(job => new RunRow
        {
            Id = job.Id,
            Status = job.Status,
            ProjectId = null,
            Title = job.Kind,
            CreatedAt = job.CreatedAt,
            FinishedAt = job.FinishedAt,
        });

    public override IReadOnlyList<string> CancellableStatuses { get; } = [LlmJobStatus.Queued, LlmJobStatus.Running];

    public override object? CancelCommand(Guid id, string? reason) => new CancelLlmJob(id, reason);

    public override string? DetailRoute(RunRow row) => $"#/jobs/{row.Id}";

    public override async Task<IReadOnlyList<RunActivityMinute>> ActivityAsync(SagasDbContext db, Guid id, CancellationToken cancellationToken)
    {
        var finished = await db.Set<LlmJobItem>().AsNoTracking()
            .Where(item => item.JobId == id && item.CompletedAt != null)
            .Take(RunActivity.MaxRows)
            .Select(item => new { At = item.CompletedAt!.Value, Failed = item.Status == LlmJobItemStatus.Failed })
            .ToListAsync(cancellationToken);
        return RunActivity.PerMinute("items finished", finished.Select(f => (f.At, f.Failed)));
    }
}
