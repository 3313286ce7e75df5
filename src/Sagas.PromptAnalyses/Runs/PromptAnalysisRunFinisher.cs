using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;

namespace Sagas.PromptAnalyses.Runs;

/// <summary>
/// Finishes a run exactly once. A run is finished by two kinds of facts: its dispatch (the total is known) and each
/// analysis turning final (completed, failed or cancelled). Every writer of such a fact commits it first and calls <see cref="TryFinishAsync"/> after,
/// so whichever fact commits last is followed by a check whose statement sees all of them. The check is one
/// conditional UPDATE guarded by <c>FinishedAt IS NULL</c>: concurrent or redelivered checks race on the run's row and
/// only the one that changed it adds <see cref="PromptAnalysisRunFinished"/> to the outbox, in the same transaction.
/// </summary>
/// <remarks>
/// Calling it inside the transaction that writes the fact would break this: a concurrent checker reading the row
/// before that commit sees it undispatched (or the job still running) and skips it, while this check misses the other
/// writer's fact, and nobody finishes the run.
/// </remarks>
public sealed class PromptAnalysisRunFinisher(SagasDbContext db, OutboxWriter outbox, TimeProvider clock)
{
    /// <returns>True when this call finished the run (and queued the event).</returns>
    public async Task<bool> TryFinishAsync(Guid runId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var jobs = db.Set<AnalysisJob>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var changed = await db.Set<AnalysisRun>()
            .Where(r => r.Id == runId && r.FinishedAt == null && r.DispatchedAt != null
                && jobs.Count(j => j.RunId == r.Id && (j.Status == AnalysisJobStatus.Completed || j.Status == AnalysisJobStatus.Failed || j.Status == AnalysisJobStatus.Cancelled)) == r.TotalAnalyses)
            .ExecuteUpdateAsync(set => set
                .SetProperty(r => r.FinishedAt, now)
                .SetProperty(r => r.CompletedAnalyses, r => jobs.Count(j => j.RunId == r.Id && j.Status == AnalysisJobStatus.Completed))
                .SetProperty(r => r.FailedAnalyses, r => jobs.Count(j => j.RunId == r.Id && j.Status == AnalysisJobStatus.Failed))
                .SetProperty(r => r.CancelledAnalyses, r => jobs.Count(j => j.RunId == r.Id && j.Status == AnalysisJobStatus.Cancelled)),
                cancellationToken);
        if (changed == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return false;
        }

        // The stored time, not `now`: the database rounds it (microseconds), and the event must match the run's view.
        var run = await db.Set<AnalysisRun>().AsNoTracking().SingleAsync(r => r.Id == runId, cancellationToken);
        outbox.Add(new PromptAnalysisRunFinished(run.Id, run.Trigger, run.Scope, run.TotalAnalyses ?? 0,
            run.CompletedAnalyses ?? 0, run.FailedAnalyses ?? 0, run.FinishedAt ?? now, run.CancelledAnalyses ?? 0));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outbox.Flush();
        return true;
    }
}
