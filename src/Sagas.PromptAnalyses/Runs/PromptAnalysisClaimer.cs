using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;

namespace Sagas.PromptAnalyses.Runs;

/// <summary>
/// The cluster-wide cap: moves pending analysis jobs to running, at most
/// <see cref="PromptAnalysesOptions.MaxConcurrentAnalyses"/> minus those already running, and starts their sagas
/// through the outbox of the same transaction. Claimers in every process serialise on one PostgreSQL advisory
/// transaction lock (SQLite, single process: a process-wide gate plus SQLite's single writer), so the count read and the rows
/// moved can never interleave with another claimer's. Runs after each fan-out page and each finished analysis; a
/// recurring tick is the fallback.
/// </summary>
public sealed class PromptAnalysisClaimer(SagasDbContext db, OutboxWriter outbox, PromptAnalysesOptions options, TimeProvider clock, ILogger<PromptAnalysisClaimer> logger)
{
    /// <summary>The advisory lock key of the claim step ("SagasPA1" in ASCII).</summary>
    public const long AdvisoryLockKey = 0x5361676173504131;

    private static readonly SemaphoreSlim ProcessGate = new(1, 1);

    /// <summary>
    /// Enters the claim lock: a transaction holding the advisory lock on PostgreSQL, the process-wide gate on SQLite.
    /// Everything that moves a pending job (claim, cancel, a fan-out page of a cancelled run) runs inside it, so a
    /// cancel and a claim of one job never interleave: exactly one of them takes the row.
    /// </summary>
    internal static async Task<ClaimLock> EnterAsync(SagasDbContext db, CancellationToken cancellationToken)
    {
        // PostgreSQL: the advisory lock alone serialises every claimer, in this process and the others.
        var postgres = db.Database.IsNpgsql();
        if (!postgres)
            await ProcessGate.WaitAsync(cancellationToken);
        try
        {
            var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            if (postgres)
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken);
            return new ClaimLock(transaction, postgres ? null : ProcessGate);
        }
        catch
        {
            if (!postgres)
                ProcessGate.Release();
            throw;
        }
    }

    /// <returns>The analyses this call started.</returns>
    public async Task<int> ClaimAsync(CancellationToken cancellationToken)
    {
        await using var claimLock = await EnterAsync(db, cancellationToken);
        var transaction = claimLock.Transaction;
        var running = await db.Set<AnalysisJob>().CountAsync(j => j.Status == AnalysisJobStatus.Running, cancellationToken);
        var free = options.MaxConcurrentAnalyses - running;
        if (free <= 0)
        {
            await transaction.CommitAsync(cancellationToken);
            PromptAnalysisMetrics.Observe(running, 0);
            return 0;
        }

        var next = await db.Set<AnalysisJob>()
            .Where(j => j.Status == AnalysisJobStatus.Pending)
            .OrderBy(j => j.CreatedAt).ThenBy(j => j.Id)
            .Take(free)
            .ToListAsync(cancellationToken);
        var now = clock.GetUtcNow();
        foreach (var job in next)
        {
            job.Status = AnalysisJobStatus.Running;
            job.StartedAt = now;
            outbox.Add(new StartPromptAnalysis(job.Id, job.RunId, job.PromptId, job.Platforms));
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outbox.Flush();
        PromptAnalysisMetrics.Observe(running + next.Count, next.Count);
        if (next.Count > 0)
            logger.LogDebug("Claimed {Claimed} prompt analyses ({Running} running before)", next.Count, running);
        return next.Count;
    }

    /// <summary>
    /// Cancels one analysis, under the claim lock. A pending job becomes cancelled and is never started; a running
    /// one becomes cancelled and its saga is told (through the outbox of the same transaction) to stop asking; a
    /// final one is left alone. After the commit the run may have finished and a slot may be free.
    /// </summary>
    public async Task<CancelOutcome> CancelAsync(Guid analysisId, string? reason, CancellationToken cancellationToken)
    {
        Guid runId;
        CancelOutcome outcome;
        await using (var claimLock = await EnterAsync(db, cancellationToken))
        {
            var job = await db.Set<AnalysisJob>().AsNoTracking()
                .Where(j => j.Id == analysisId)
                .Select(j => new ActiveJob(j.Id, j.RunId, j.PromptId, j.Status))
                .SingleOrDefaultAsync(cancellationToken);
            if (job is null)
                return CancelOutcome.NotFound;
            runId = job.RunId;
            outcome = await CancelJobAsync(job, reason, cancellationToken) ? CancelOutcome.Cancelled : CancelOutcome.AlreadyFinal;
            await db.SaveChangesAsync(cancellationToken);
            await claimLock.Transaction.CommitAsync(cancellationToken);
        }

        outbox.Flush();
        if (outcome == CancelOutcome.Cancelled)
            logger.LogInformation("Prompt analysis {AnalysisId} cancelled: {Reason}", analysisId, reason ?? "no reason given");
        await AfterCancelAsync(runId, cancellationToken);
        return outcome;
    }

    /// <summary>
    /// Cancels every pending and running analysis of a run, and marks the run so that fan-out pages read later create
    /// their analyses cancelled.
    /// </summary>
    /// <returns>The analyses this call cancelled, or null when there is no such run.</returns>
    public async Task<int?> CancelRunAsync(Guid runId, string? reason, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var cancelled = 0;
        await using (var claimLock = await EnterAsync(db, cancellationToken))
        {
            var marked = await db.Set<AnalysisRun>()
                .Where(r => r.Id == runId)
                .ExecuteUpdateAsync(set => set.SetProperty(r => r.CancelRequestedAt, r => r.CancelRequestedAt ?? now), cancellationToken);
            if (marked == 0)
                return null;

            // Under the lock nobody claims: the pending rows stay pending until this one statement has them.
            cancelled += await db.Set<AnalysisJob>()
                .Where(j => j.RunId == runId && j.Status == AnalysisJobStatus.Pending)
                .ExecuteUpdateAsync(set => set.SetProperty(j => j.Status, AnalysisJobStatus.Cancelled).SetProperty(j => j.CompletedAt, now), cancellationToken);
            // At most the cap: one by one, each conditional on the status read, and each telling its saga.
            var running = await db.Set<AnalysisJob>().AsNoTracking()
                .Where(j => j.RunId == runId && j.Status == AnalysisJobStatus.Running)
                .Select(j => new ActiveJob(j.Id, j.RunId, j.PromptId, j.Status))
                .ToListAsync(cancellationToken);
            foreach (var job in running)
            {
                if (await CancelJobAsync(job, reason, cancellationToken))
                    cancelled++;
            }

            await db.SaveChangesAsync(cancellationToken);
            await claimLock.Transaction.CommitAsync(cancellationToken);
        }

        outbox.Flush();
        logger.LogInformation("Prompt analysis run {RunId} cancelled: {Cancelled} analyses stopped ({Reason})", runId, cancelled, reason ?? "no reason given");
        await AfterCancelAsync(runId, cancellationToken);
        return cancelled;
    }

    /// <summary>
    /// Moves the job to cancelled only from the status it was read in: a finish that committed meanwhile (a running
    /// job's last answer does not take the claim lock) wins, and the cancel changes nothing.
    /// </summary>
    private async Task<bool> CancelJobAsync(ActiveJob job, string? reason, CancellationToken cancellationToken)
    {
        if (job.Status is not (AnalysisJobStatus.Pending or AnalysisJobStatus.Running))
            return false;

        var now = clock.GetUtcNow();
        var changed = await db.Set<AnalysisJob>()
            .Where(j => j.Id == job.Id && j.Status == job.Status)
            .ExecuteUpdateAsync(set => set.SetProperty(j => j.Status, AnalysisJobStatus.Cancelled).SetProperty(j => j.CompletedAt, now), cancellationToken);
        if (changed == 0)
            return false;
        // A pending job has no saga yet and never will (nobody claims a cancelled job); a running one's saga stops.
        if (job.Status == AnalysisJobStatus.Running)
            outbox.Add(new PromptAnalysisCancelled(job.Id, job.RunId, job.PromptId, reason));
        return true;
    }

    /// <summary>Committed first, as every fact that can finish a run (see <see cref="PromptAnalysisRunFinisher"/>); then the freed slots are claimed.</summary>
    private async Task AfterCancelAsync(Guid runId, CancellationToken cancellationToken)
    {
        await new PromptAnalysisRunFinisher(db, outbox, clock).TryFinishAsync(runId, cancellationToken);
        await ClaimAsync(cancellationToken);
    }

    private sealed record ActiveJob(Guid Id, Guid RunId, Guid PromptId, string Status);

    /// <summary>
    /// Marks the job finished (once), finishes its run when this was the run's last analysis, and lets the next
    /// pending analysis take its slot.
    /// </summary>
    public async Task FinishAsync(PromptAnalysisFinished finished, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        // Committed on its own before the run check, which must see it (see PromptAnalysisRunFinisher).
        await db.Set<AnalysisJob>()
            .Where(j => j.Id == finished.AnalysisId && (j.Status == AnalysisJobStatus.Running || j.Status == AnalysisJobStatus.Pending))
            .ExecuteUpdateAsync(set => set.SetProperty(j => j.Status, finished.Status).SetProperty(j => j.CompletedAt, now), cancellationToken);
        // Also when the job was already final: a redelivery repeats the check a crash may have cut off.
        await new PromptAnalysisRunFinisher(db, outbox, clock).TryFinishAsync(finished.RunId, cancellationToken);
        await ClaimAsync(cancellationToken);
    }
}

public enum CancelOutcome
{
    NotFound,
    Cancelled,

    /// <summary>Completed, failed or cancelled before: nothing changed.</summary>
    AlreadyFinal,
}

/// <summary>The claim lock's transaction; disposing it rolls back what was not committed and releases the lock.</summary>
internal sealed class ClaimLock(Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction transaction, SemaphoreSlim? gate) : IAsyncDisposable
{
    public Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction Transaction { get; } = transaction;

    private int _disposed;

    /// <summary>Idempotent: a caller may leave the lock early (before slow work after the commit) and still hold a using.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        try
        {
            await Transaction.DisposeAsync();
        }
        finally
        {
            gate?.Release();
        }
    }
}
