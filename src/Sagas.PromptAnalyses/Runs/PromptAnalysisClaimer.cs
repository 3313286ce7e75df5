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

    /// <returns>The analyses this call started.</returns>
    public async Task<int> ClaimAsync(CancellationToken cancellationToken)
    {
        // PostgreSQL: the advisory lock alone serialises every claimer, in this process and the others.
        var postgres = db.Database.IsNpgsql();
        if (!postgres)
            await ProcessGate.WaitAsync(cancellationToken);
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            if (postgres)
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken);

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
        finally
        {
            if (!postgres)
                ProcessGate.Release();
        }
    }

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
