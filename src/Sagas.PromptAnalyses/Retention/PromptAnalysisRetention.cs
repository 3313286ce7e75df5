using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Persistence;
using Sagas.Persistence.Retention;
using Sagas.PromptAnalyses.StateMachines;

namespace Sagas.PromptAnalyses.Retention;

/// <summary>
/// Prompt analyses keep their runs, jobs, platform responses and citations: those rows are the product (answers and
/// citations over time), not a finished run's scaffolding, so no rule deletes them. What goes is the saga instance.
/// </summary>
public static class PromptAnalysisRetention
{
    public const string Sagas = "prompt-analysis-sagas";

    public static IServiceCollection AddPromptAnalysisRetention(this IServiceCollection services) =>
        services.AddRetentionRule<PromptAnalysisSagasRetention>(Sagas, 30, "prompt_analysis_sagas rows in Completed, Failed or Cancelled");
}

/// <summary>Rule <c>prompt-analysis-sagas</c>: finished analysis instances, kept only so late duplicates are ignored.</summary>
public sealed class PromptAnalysisSagasRetention(SagasDbContext db) : IRetentionRule
{
    private static readonly string[] FinalStates = ["Completed", "Failed", "Cancelled"];

    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken) =>
        RetentionBatchResult.Rows(await db.Set<PromptAnalysisState>()
            .Where(s => FinalStates.Contains(s.CurrentState) && s.FinishedAt != null && s.FinishedAt < batch.Cutoff)
            .OrderBy(s => s.FinishedAt)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken));
}
