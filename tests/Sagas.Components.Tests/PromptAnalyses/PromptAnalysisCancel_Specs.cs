using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.PromptAnalyses;
using Sagas.PromptAnalyses;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Runs;

namespace Sagas.Components.Tests.PromptAnalyses;

/// <summary>The cancel step on SQLite (the embedded default); the race with a claim on PostgreSQL is in the integration tests.</summary>
public sealed class When_a_prompt_analysis_is_cancelled_by_the_cancel_step
{
    [Fact]
    public async Task Should_cancel_a_pending_analysis_so_that_it_is_never_claimed()
    {
        using var database = new PromptAnalysisDatabase(new PromptAnalysesOptions { MaxConcurrentAnalyses = 1 });
        await database.AddProjectAsync(activePrompts: 2);
        var run = await database.StartScheduledAsync(DateTimeOffset.UtcNow);
        await database.DispatchAllAsync(run.RunId);
        var jobs = await JobsAsync(database, run.RunId);

        Assert.Equal(CancelOutcome.Cancelled, await database.CancelAsync(jobs[1].Id));
        await database.ClaimAsync();
        await FinishAsync(database, jobs[0], AnalysisJobStatus.Completed);

        var after = await JobsAsync(database, run.RunId);
        Assert.Equal([AnalysisJobStatus.Completed, AnalysisJobStatus.Cancelled], after.Select(j => j.Status));
        Assert.Null(after[1].StartedAt);
        Assert.NotNull(after[1].CompletedAt);
        Assert.DoesNotContain(await database.OutboxAsync<StartPromptAnalysis>(), start => start.AnalysisId == jobs[1].Id);
        Assert.Empty(await database.OutboxAsync<PromptAnalysisCancelled>());
        var stored = await database.QueryAsync(db => db.Set<AnalysisRun>().SingleAsync(r => r.Id == run.RunId));
        Assert.Equal((2, 1, 0, 1), (stored.TotalAnalyses, stored.CompletedAnalyses, stored.FailedAnalyses, stored.CancelledAnalyses));
        var finished = Assert.Single(await database.OutboxAsync<PromptAnalysisRunFinished>());
        Assert.Equal((2, 1, 0, 1), (finished.TotalAnalyses, finished.CompletedAnalyses, finished.FailedAnalyses, finished.CancelledAnalyses));
    }

    [Fact]
    public async Task Should_cancel_a_running_analysis_tell_its_saga_and_free_its_slot()
    {
        using var database = new PromptAnalysisDatabase(new PromptAnalysesOptions { MaxConcurrentAnalyses = 1 });
        await database.AddProjectAsync(activePrompts: 2);
        var run = await database.StartScheduledAsync(DateTimeOffset.UtcNow);
        await database.DispatchAllAsync(run.RunId);
        Assert.Equal(1, await database.ClaimAsync());
        var running = (await JobsAsync(database, run.RunId)).Single(j => j.Status == AnalysisJobStatus.Running);

        Assert.Equal(CancelOutcome.Cancelled, await database.CancelAsync(running.Id));

        var cancelled = Assert.Single(await database.OutboxAsync<PromptAnalysisCancelled>());
        Assert.Equal((running.Id, run.RunId, running.PromptId), (cancelled.AnalysisId, cancelled.RunId, cancelled.PromptId));
        var after = await JobsAsync(database, run.RunId);
        Assert.Equal(AnalysisJobStatus.Cancelled, after.Single(j => j.Id == running.Id).Status);
        // The freed slot went to the other analysis at once.
        Assert.Equal(AnalysisJobStatus.Running, after.Single(j => j.Id != running.Id).Status);
    }

    [Fact]
    public async Task Should_change_nothing_for_a_finished_or_cancelled_analysis_or_an_unknown_id()
    {
        using var database = new PromptAnalysisDatabase(new PromptAnalysesOptions { MaxConcurrentAnalyses = 2 });
        await database.AddProjectAsync(activePrompts: 2);
        var run = await database.StartScheduledAsync(DateTimeOffset.UtcNow);
        await database.DispatchAllAsync(run.RunId);
        await database.ClaimAsync();
        var jobs = await JobsAsync(database, run.RunId);
        await FinishAsync(database, jobs[0], AnalysisJobStatus.Failed);
        Assert.Equal(CancelOutcome.Cancelled, await database.CancelAsync(jobs[1].Id));

        Assert.Equal(CancelOutcome.AlreadyFinal, await database.CancelAsync(jobs[0].Id));
        Assert.Equal(CancelOutcome.AlreadyFinal, await database.CancelAsync(jobs[1].Id));
        Assert.Equal(CancelOutcome.NotFound, await database.CancelAsync(Guid.NewGuid()));
        // The saga's own finish of the cancelled analysis arrives later and changes nothing either.
        await FinishAsync(database, jobs[1], AnalysisJobStatus.Cancelled);

        Assert.Equal([AnalysisJobStatus.Failed, AnalysisJobStatus.Cancelled], (await JobsAsync(database, run.RunId)).Select(j => j.Status));
        Assert.Single(await database.OutboxAsync<PromptAnalysisCancelled>());
        var finished = Assert.Single(await database.OutboxAsync<PromptAnalysisRunFinished>());
        Assert.Equal((0, 1, 1), (finished.CompletedAnalyses, finished.FailedAnalyses, finished.CancelledAnalyses));
    }

    [Fact]
    public async Task Should_cancel_a_whole_run_even_prompts_its_fan_out_has_not_reached()
    {
        using var database = new PromptAnalysisDatabase(new PromptAnalysesOptions { MaxConcurrentAnalyses = 2, FanOutPageSize = 3 });
        await database.AddProjectAsync(activePrompts: 5);
        var run = await database.StartScheduledAsync(DateTimeOffset.UtcNow);
        var first = await database.DispatchPageAsync(run.RunId, null);
        Assert.Equal(2, await database.ClaimAsync());

        Assert.Equal(3, await database.CancelRunAsync(run.RunId));
        await database.DispatchPageAsync(run.RunId, first.NextAfter);
        Assert.Equal(0, await database.ClaimAsync());

        var jobs = await JobsAsync(database, run.RunId);
        Assert.Equal(5, jobs.Count);
        Assert.All(jobs, job => Assert.Equal(AnalysisJobStatus.Cancelled, job.Status));
        Assert.Equal(2, (await database.OutboxAsync<PromptAnalysisCancelled>()).Count);
        var finished = Assert.Single(await database.OutboxAsync<PromptAnalysisRunFinished>());
        Assert.Equal((5, 0, 0, 5), (finished.TotalAnalyses, finished.CompletedAnalyses, finished.FailedAnalyses, finished.CancelledAnalyses));
        Assert.Null(await database.CancelRunAsync(Guid.NewGuid()));
        Assert.Equal(0, await database.CancelRunAsync(run.RunId));
    }

    private static Task<List<AnalysisJob>> JobsAsync(PromptAnalysisDatabase database, Guid runId) =>
        database.QueryAsync(db => db.Set<AnalysisJob>().Where(j => j.RunId == runId).OrderBy(j => j.CreatedAt).ThenBy(j => j.Id).ToListAsync());

    private static Task FinishAsync(PromptAnalysisDatabase database, AnalysisJob job, string status) =>
        database.WithAsync(async (db, outbox) =>
        {
            await database.Claimer(db, outbox).FinishAsync(new PromptAnalysisFinished(job.Id, job.RunId, job.PromptId, status, 4, 0, 0), CancellationToken.None);
            return 0;
        });
}
