using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;

namespace Sagas.PromptAnalyses.Runs;

/// <param name="Created">Analysis jobs this call created (0 for a redelivered page).</param>
/// <param name="NextAfter">The cursor of the next page, or null when this was the last one.</param>
public sealed record FanOutPage(int Read, int Created, Guid? NextAfter);

/// <summary>
/// Reads one page of a run's prompts (keyset on the prompt id: no offset, no drift when prompts are added meanwhile)
/// and creates one pending analysis job per prompt. The unique (run, prompt) key makes a redelivered page create
/// nothing; the next page's message and the run's total leave in the same transaction as the jobs.
/// </summary>
public sealed class PromptAnalysisFanOut(SagasDbContext db, OutboxWriter outbox, PromptAnalysesOptions options, TimeProvider clock)
{
    public async Task<FanOutPage> DispatchPageAsync(Guid runId, Guid? after, CancellationToken cancellationToken)
    {
        var run = await db.Set<AnalysisRun>().SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
        if (run is null)
            return new FanOutPage(0, 0, null);

        var prompts = db.Set<TrackedPrompt>().AsNoTracking();
        prompts = run.Scope switch
        {
            AnalysisRunScope.Project => prompts.Where(p => p.ProjectId == run.ProjectId && p.Active),
            // Asking for one prompt is explicit: it is analysed even while inactive.
            AnalysisRunScope.Prompt => prompts.Where(p => p.Id == run.PromptId),
            _ => prompts.Where(p => p.Active),
        };
        if (after is { } cursor)
            prompts = prompts.Where(p => p.Id.CompareTo(cursor) > 0);
        var page = await prompts
            .OrderBy(p => p.Id)
            .Take(options.FanOutPageSize)
            .Select(p => new { p.Id, p.ProjectId, p.Text, p.Platforms })
            .ToListAsync(cancellationToken);

        var ids = page.Select(p => p.Id).ToList();
        var existing = (await db.Set<AnalysisJob>().AsNoTracking()
            .Where(j => j.RunId == runId && ids.Contains(j.PromptId))
            .Select(j => j.PromptId)
            .ToListAsync(cancellationToken)).ToHashSet();

        var now = clock.GetUtcNow();
        // Under the claim lock, so a run cancel either sees these rows (and cancels them) or this page sees its mark.
        await using var claimLock = await PromptAnalysisClaimer.EnterAsync(db, cancellationToken);
        var transaction = claimLock.Transaction;
        var cancelled = await db.Set<AnalysisRun>().AsNoTracking().Where(r => r.Id == runId).Select(r => r.CancelRequestedAt).SingleAsync(cancellationToken) is not null;
        var created = 0;
        foreach (var prompt in page.Where(p => !existing.Contains(p.Id)))
        {
            var platforms = prompt.Platforms.Distinct(StringComparer.Ordinal).ToList();
            db.Add(new AnalysisJob
            {
                Id = MassTransit.NewId.NextGuid(),
                RunId = runId,
                PromptId = prompt.Id,
                ProjectId = prompt.ProjectId,
                PromptText = prompt.Text,
                Platforms = platforms,
                TotalPlatforms = platforms.Count,
                Status = cancelled ? AnalysisJobStatus.Cancelled : AnalysisJobStatus.Pending,
                CreatedAt = now,
                CompletedAt = cancelled ? now : null,
            });
            created++;
        }

        var last = page.Count < options.FanOutPageSize;
        if (!last)
            outbox.Add(new DispatchPromptAnalysisRun(runId, page[^1].Id));
        if (created > 0 && !cancelled)
            outbox.Add(new ClaimPromptAnalyses());
        await db.SaveChangesAsync(cancellationToken);

        if (last && run.DispatchedAt is null)
        {
            run.DispatchedAt = now;
            run.TotalAnalyses = await db.Set<AnalysisJob>().CountAsync(j => j.RunId == runId, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        await claimLock.DisposeAsync();
        outbox.Flush();
        // After the commit, and on every delivery of the last page: a run whose analyses all finished before its
        // dispatch (or that has none) is finished by this check, and a redelivery repeats a check a crash cut off.
        if (last)
            await new PromptAnalysisRunFinisher(db, outbox, clock).TryFinishAsync(runId, cancellationToken);
        return new FanOutPage(page.Count, created, last ? null : page[^1].Id);
    }
}
