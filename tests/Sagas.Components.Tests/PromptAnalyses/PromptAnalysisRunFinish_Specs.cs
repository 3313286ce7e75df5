using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Messaging.Outbox;
using Sagas.PromptAnalyses;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Runs;

namespace Sagas.Components.Tests.PromptAnalyses;

/// <summary>The run's finish on SQLite (the embedded default); the concurrent PostgreSQL case is in the integration tests.</summary>
public sealed class When_the_last_analysis_of_a_run_finishes
{
    [Fact]
    public async Task Should_finish_the_run_once_with_its_final_counts_whatever_is_redelivered()
    {
        using var database = new PromptAnalysisDatabase(new PromptAnalysesOptions { MaxConcurrentAnalyses = 10 });
        await database.AddProjectAsync(activePrompts: 3);
        var run = await database.StartScheduledAsync(DateTimeOffset.UtcNow);
        await database.DispatchAllAsync(run.RunId);
        await database.ClaimAsync();
        var jobs = await database.QueryAsync(db => db.Set<AnalysisJob>().Where(j => j.RunId == run.RunId).OrderBy(j => j.Id).ToListAsync());

        await FinishAsync(database, jobs[0], AnalysisJobStatus.Completed);
        await FinishAsync(database, jobs[1], AnalysisJobStatus.Failed);
        Assert.Null((await RunAsync(database, run.RunId)).FinishedAt);
        Assert.Empty(await FinishedEventsAsync(database));

        await FinishAsync(database, jobs[2], AnalysisJobStatus.Completed);
        await FinishAsync(database, jobs[2], AnalysisJobStatus.Completed);
        await FinishAsync(database, jobs[0], AnalysisJobStatus.Completed);
        await database.DispatchAllAsync(run.RunId);

        var stored = await RunAsync(database, run.RunId);
        Assert.NotNull(stored.FinishedAt);
        Assert.Equal((3, 2, 1), (stored.TotalAnalyses, stored.CompletedAnalyses, stored.FailedAnalyses));
        var finished = Assert.Single(await FinishedEventsAsync(database));
        Assert.Equal(new PromptAnalysisRunFinished(run.RunId, AnalysisRunTrigger.Schedule, AnalysisRunScope.All, 3, 2, 1, stored.FinishedAt.Value), finished);
    }

    [Fact]
    public async Task Should_finish_a_run_whose_analyses_all_finished_before_its_dispatch_did()
    {
        // Page size 2 over 2 prompts: the first page is full, so the run is dispatched only by the (empty) next page.
        using var database = new PromptAnalysisDatabase(new PromptAnalysesOptions { MaxConcurrentAnalyses = 10, FanOutPageSize = 2 });
        await database.AddProjectAsync(activePrompts: 2);
        var run = await database.StartScheduledAsync(DateTimeOffset.UtcNow);
        var first = await database.DispatchPageAsync(run.RunId, null);
        Assert.NotNull(first.NextAfter);
        await database.ClaimAsync();
        foreach (var job in await database.QueryAsync(db => db.Set<AnalysisJob>().Where(j => j.RunId == run.RunId).ToListAsync()))
            await FinishAsync(database, job, AnalysisJobStatus.Completed);
        Assert.Null((await RunAsync(database, run.RunId)).FinishedAt);

        await database.DispatchPageAsync(run.RunId, first.NextAfter);
        await database.DispatchPageAsync(run.RunId, first.NextAfter);

        var stored = await RunAsync(database, run.RunId);
        Assert.NotNull(stored.FinishedAt);
        Assert.Equal((2, 2, 0), (stored.TotalAnalyses, stored.CompletedAnalyses, stored.FailedAnalyses));
        Assert.Single(await FinishedEventsAsync(database));
    }

    [Fact]
    public async Task Should_finish_a_run_of_no_prompts_when_it_is_dispatched()
    {
        using var database = new PromptAnalysisDatabase();
        var project = await database.AddProjectAsync(activePrompts: 0, inactivePrompts: 2);
        var run = await database.StartOnDemandAsync(new RunRequest(AnalysisRunScope.Project, project.Id, null, false, null));

        await database.DispatchAllAsync(run.RunId);
        await database.DispatchAllAsync(run.RunId);

        var stored = await RunAsync(database, run.RunId);
        Assert.NotNull(stored.FinishedAt);
        var finished = Assert.Single(await FinishedEventsAsync(database));
        Assert.Equal((AnalysisRunTrigger.OnDemand, AnalysisRunScope.Project, 0, 0, 0), (finished.Trigger, finished.Scope, finished.TotalAnalyses, finished.CompletedAnalyses, finished.FailedAnalyses));
    }

    private static Task FinishAsync(PromptAnalysisDatabase database, AnalysisJob job, string status) =>
        database.WithAsync(async (db, outbox) =>
        {
            await new PromptAnalysisClaimer(db, outbox, database.Options, TimeProvider.System, NullLogger<PromptAnalysisClaimer>.Instance)
                .FinishAsync(new PromptAnalysisFinished(job.Id, job.RunId, job.PromptId, status, 1, status == AnalysisJobStatus.Completed ? 1 : 0, status == AnalysisJobStatus.Failed ? 1 : 0), CancellationToken.None);
            return 0;
        });

    private static Task<AnalysisRun> RunAsync(PromptAnalysisDatabase database, Guid runId) =>
        database.QueryAsync(db => db.Set<AnalysisRun>().SingleAsync(r => r.Id == runId));

    private static async Task<List<PromptAnalysisRunFinished>> FinishedEventsAsync(PromptAnalysisDatabase database)
    {
        var bodies = await database.QueryAsync(db => db.Set<OutboxMessage>().Where(m => m.MessageType == typeof(PromptAnalysisRunFinished).FullName).Select(m => m.Body).ToListAsync());
        return [.. bodies.Select(body => JsonSerializer.Deserialize<PromptAnalysisRunFinished>(body, OutboxMessageTypes.JsonOptions)!)];
    }
}
