using MassTransit;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Modules.Usage.Budgets;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;

namespace Sagas.PromptAnalyses.Runs;

/// <summary>Sets a run's budget and, when that lifted a pause, tells the run's analyses to ask what they parked.</summary>
public sealed class PromptAnalysisRunBudget(SagasDbContext db, BudgetStore budgets, IPublishEndpoint publisher, TimeProvider clock)
{
    public static string IdOf(Guid runId) => BudgetScope.Run(PromptAnalysesModule.WorkflowName, runId);

    public async Task<BudgetChange> SetAsync(Guid runId, decimal limitUsd, CancellationToken cancellationToken)
    {
        var change = await budgets.SetLimitAsync(IdOf(runId), limitUsd, cancellationToken);
        if (!change.WasPaused)
            return change;

        // Every running analysis is told, not only those already paused: a pause still on its way is answered too (the
        // saga compares its refusal time with the raise). The others ignore it.
        var raisedAt = clock.GetUtcNow();
        var running = await db.Set<AnalysisJob>().AsNoTracking()
            .Where(j => j.RunId == runId && j.Status == AnalysisJobStatus.Running)
            .Select(j => j.Id)
            .ToListAsync(cancellationToken);
        foreach (var analysisId in running)
            await publisher.Publish(new ResumePromptAnalysis(analysisId, raisedAt), cancellationToken);
        return change;
    }
}
