using System.Globalization;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Messaging.Outbox;
using Sagas.Modules.Usage.Budgets;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;

namespace Sagas.PromptAnalyses.Runs;

/// <summary>What to analyse on demand.</summary>
/// <param name="Scope"><see cref="AnalysisRunScope"/>: all, project (with <paramref name="ProjectId"/>) or prompt (with <paramref name="PromptId"/>).</param>
/// <param name="Force">Start a new run even when one for the same scope already ran today.</param>
/// <param name="BudgetUsd">The run's budget, set only when the run is new; a request that finds its run already there leaves that run's budget alone.</param>
public sealed record RunRequest(string Scope, Guid? ProjectId, Guid? PromptId, bool Force, string? RequestedBy, decimal? BudgetUsd = null);

/// <param name="Created">False when the request matched an existing run (same slot, or same scope the same UTC day).</param>
public sealed record StartedRun(Guid RunId, bool Created);

/// <summary>
/// Creates runs idempotently: the run key is unique, so a schedule slot firing twice (or a POST repeated the same day
/// without <c>force</c>) finds the run already there instead of analysing again. A new run and its first fan-out
/// message are written in one transaction (outbox), so a run that exists is always being or has been fanned out; a
/// budget given with the request commits in that transaction too, so no ask of the run can come before it.
/// </summary>
public sealed class PromptAnalysisRunStarter(SagasDbContext db, OutboxWriter outbox, TimeProvider clock)
{
    public static string ScheduleKey(DateTimeOffset slot) =>
        "schedule:" + slot.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public Task<StartedRun> StartScheduledAsync(DateTimeOffset slot, CancellationToken cancellationToken) =>
        StartAsync(new AnalysisRun
        {
            RunKey = ScheduleKey(slot),
            Trigger = AnalysisRunTrigger.Schedule,
            Scope = AnalysisRunScope.All,
            SlotTime = slot.ToUniversalTime(),
        }, null, cancellationToken);

    public Task<StartedRun> StartOnDemandAsync(RunRequest request, CancellationToken cancellationToken)
    {
        var target = request.Scope switch
        {
            AnalysisRunScope.All => "*",
            AnalysisRunScope.Project => (request.ProjectId ?? throw new ArgumentException("A project run needs a project id.", nameof(request))).ToString("N"),
            AnalysisRunScope.Prompt => (request.PromptId ?? throw new ArgumentException("A prompt run needs a prompt id.", nameof(request))).ToString("N"),
            _ => throw new ArgumentException($"Unknown scope '{request.Scope}'.", nameof(request)),
        };
        var day = clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return StartAsync(new AnalysisRun
        {
            RunKey = request.Force ? $"forced:{NewId.NextGuid():N}" : $"on-demand:{request.Scope}:{target}:{day}",
            Trigger = AnalysisRunTrigger.OnDemand,
            Scope = request.Scope,
            ProjectId = request.Scope == AnalysisRunScope.Project ? request.ProjectId : null,
            PromptId = request.Scope == AnalysisRunScope.Prompt ? request.PromptId : null,
            Forced = request.Force,
            RequestedBy = request.RequestedBy,
        }, request.BudgetUsd, cancellationToken);
    }

    private async Task<StartedRun> StartAsync(AnalysisRun run, decimal? budgetUsd, CancellationToken cancellationToken)
    {
        var existing = await FindAsync(run.RunKey, cancellationToken);
        if (existing is not null)
            return new StartedRun(existing.Id, false);

        run.Id = NewId.NextGuid();
        run.CreatedAt = clock.GetUtcNow();
        db.Add(run);
        if (budgetUsd is { } limit)
            db.Add(BudgetStore.ForNewScope(PromptAnalysisRunBudget.IdOf(run.Id), limit, run.CreatedAt));
        outbox.Add(new DispatchPromptAnalysisRun(run.Id, null));
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Another process inserted the same key between our read and write: that run is the one.
            db.ChangeTracker.Clear();
            existing = await FindAsync(run.RunKey, cancellationToken);
            if (existing is null)
                throw;
            return new StartedRun(existing.Id, false);
        }

        outbox.Flush();
        return new StartedRun(run.Id, true);
    }

    private Task<AnalysisRun?> FindAsync(string key, CancellationToken cancellationToken) =>
        db.Set<AnalysisRun>().AsNoTracking().SingleOrDefaultAsync(r => r.RunKey == key, cancellationToken);
}
