using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.StateMachines;
using Sagas.Persistence;
using Sagas.Persistence.Retention;

namespace Sagas.LlmJobs.Retention;

/// <summary>
/// What a finished LLM job leaves behind and when it goes. Only finished jobs (completed, failed, cancelled), aged
/// from <see cref="LlmJob.FinishedAt"/>, are touched. <see cref="EntityFlag"/> rows are the result applied to the
/// caller's entities, not a job's detail: no rule deletes them.
/// </summary>
public static class LlmJobRetention
{
    public const string Items = "llm-job-items";
    public const string Sagas = "llm-job-sagas";
    public const string Jobs = "llm-jobs";

    private static readonly string[] Finished = [LlmJobStatus.Completed, LlmJobStatus.Failed, LlmJobStatus.Cancelled];

    public static IServiceCollection AddLlmJobRetention(this IServiceCollection services)
    {
        services.AddRetentionRule<LlmJobItemsRetention>(Items, 30, "llm_job_items and llm_job_batches of finished LLM jobs (inputs, outputs, provider ids); the job row keeps the counts");
        services.AddRetentionRule<LlmJobSagasRetention>(Sagas, 30, "llm_job_sagas rows in Completed, Failed or Cancelled");
        services.AddRetentionRule<LlmJobsRetention>(Jobs, 365, "llm_jobs rows of finished jobs, with whatever items the rule above left");
        return services;
    }

    internal static IQueryable<LlmJob> Due(SagasDbContext db, DateTimeOffset cutoff) =>
        db.Set<LlmJob>().Where(j => Finished.Contains(j.Status) && j.FinishedAt != null && j.FinishedAt < cutoff);

    /// <summary>Item rows, then batch rows, of jobs due at the cutoff: at most a batch, by primary key.</summary>
    internal static async Task<int> DeleteDetailAsync(SagasDbContext db, RetentionBatch batch, CancellationToken cancellationToken)
    {
        var jobs = await Due(db, batch.Cutoff)
            .Where(j => db.Set<LlmJobItem>().Any(i => i.JobId == j.Id) || db.Set<LlmJobBatch>().Any(b => b.JobId == j.Id))
            .OrderBy(j => j.FinishedAt)
            .Select(j => j.Id)
            .Take(100)
            .ToListAsync(cancellationToken);
        if (jobs.Count == 0)
            return 0;

        var items = await db.Set<LlmJobItem>()
            .Where(i => jobs.Contains(i.JobId))
            .OrderBy(i => i.JobId).ThenBy(i => i.ItemId)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken);
        if (items > 0)
            return items;
        return await db.Set<LlmJobBatch>()
            .Where(b => jobs.Contains(b.JobId))
            .OrderBy(b => b.JobId).ThenBy(b => b.BatchId)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken);
    }
}

/// <summary>Rule <c>llm-job-items</c>: the per-item and per-batch rows of finished jobs.</summary>
public sealed class LlmJobItemsRetention(SagasDbContext db) : IRetentionRule
{
    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken)
    {
        var deleted = await LlmJobRetention.DeleteDetailAsync(db, batch, cancellationToken);
        // A short batch of one job's rows does not mean nothing is left of the others.
        return new RetentionBatchResult(deleted > 0 ? batch.Size : 0, deleted);
    }
}

/// <summary>
/// Rule <c>llm-job-sagas</c>: finished saga instances, kept only so late duplicates are ignored. A job's deadline
/// is unscheduled when it finishes, and <see cref="LlmJobState.ExpiresAt"/> must be past the cutoff too, so no
/// deadline can arrive for a deleted instance.
/// </summary>
public sealed class LlmJobSagasRetention(SagasDbContext db) : IRetentionRule
{
    private static readonly string[] FinalStates = ["Completed", "Failed", "Cancelled"];

    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken) =>
        RetentionBatchResult.Rows(await db.Set<LlmJobState>()
            .Where(s => FinalStates.Contains(s.CurrentState) && s.FinishedAt != null && s.FinishedAt < batch.Cutoff && s.ExpiresAt < batch.Cutoff)
            .OrderBy(s => s.FinishedAt)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken));
}

/// <summary>Rule <c>llm-jobs</c>: the job row, after its item and batch rows (deleted here in batches if still there).</summary>
public sealed class LlmJobsRetention(SagasDbContext db) : IRetentionRule
{
    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken)
    {
        var detail = await LlmJobRetention.DeleteDetailAsync(db, batch, cancellationToken);
        if (detail > 0)
            return new RetentionBatchResult(batch.Size, detail);

        var jobs = await LlmJobRetention.Due(db, batch.Cutoff)
            .OrderBy(j => j.FinishedAt)
            .Select(j => j.Id)
            .Take(batch.Size)
            .ToListAsync(cancellationToken);
        if (jobs.Count == 0)
            return RetentionBatchResult.None;
        return new RetentionBatchResult(jobs.Count, await LlmJobRetention.Due(db, batch.Cutoff)
            .Where(j => jobs.Contains(j.Id))
            .ExecuteDeleteAsync(cancellationToken));
    }
}
