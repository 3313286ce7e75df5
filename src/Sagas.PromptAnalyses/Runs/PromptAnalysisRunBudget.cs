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
        if (change.WasPaused)
            await ResumeAsync(db.Set<AnalysisJob>().Where(j => j.RunId == runId), cancellationToken);
        return change;
    }

    /// <summary>A project's budget for one UTC day, which every analysis of the project's prompts reserves on that day, in any run.</summary>
    public async Task<BudgetChange> SetProjectDayAsync(Guid projectId, DateOnly day, decimal limitUsd, CancellationToken cancellationToken)
    {
        var change = await budgets.SetLimitAsync(BudgetScope.ProjectDay(projectId, day), limitUsd, cancellationToken);
        if (change.WasPaused)
            await ResumeAsync(db.Set<AnalysisJob>().Where(j => j.ProjectId == projectId), cancellationToken);
        return change;
    }

    /// <summary>
    /// Every running analysis is told, not only those already paused: a pause still on its way is answered too (the
    /// saga compares its refusal time with the raise). The others ignore it.
    /// </summary>
    private async Task ResumeAsync(IQueryable<AnalysisJob> jobs, CancellationToken cancellationToken)
    {
        var raisedAt = clock.GetUtcNow();
        var running = await jobs.AsNoTracking()
            .Where(j => j.Status == AnalysisJobStatus.Running)
            .Select(j => j.Id)
            .ToListAsync(cancellationToken);
        foreach (var analysisId in running)
            await publisher.Publish(new ResumePromptAnalysis(analysisId, raisedAt), cancellationToken);
    }
}
