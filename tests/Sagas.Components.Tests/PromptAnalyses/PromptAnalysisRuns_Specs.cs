using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Messaging.Outbox;
using Sagas.PromptAnalyses;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Runs;

namespace Sagas.Components.Tests.PromptAnalyses;

public sealed class When_a_run_fans_out_over_its_prompts
{
    [Fact]
    public async Task Should_read_pages_of_a_thousand_and_create_one_pending_analysis_per_active_prompt()
    {
        using var database = new PromptAnalysisDatabase();
        await database.AddProjectAsync(activePrompts: 2_345, inactivePrompts: 17);
        var run = await database.StartScheduledAsync(new DateTimeOffset(2026, 11, 23, 2, 0, 0, TimeSpan.Zero));

        var pages = await database.DispatchAllAsync(run.RunId);

        Assert.Equal([1_000, 1_000, 345], pages.Select(p => p.Read));
        Assert.Equal(2_345, pages.Sum(p => p.Created));
        var jobs = await database.QueryAsync(db => db.Set<AnalysisJob>().Where(j => j.RunId == run.RunId).ToListAsync());
        Assert.Equal(2_345, jobs.Count);
        Assert.Equal(2_345, jobs.Select(j => j.PromptId).Distinct().Count());
        Assert.All(jobs, job => Assert.Equal((AnalysisJobStatus.Pending, 4), (job.Status, job.TotalPlatforms)));
        var stored = await database.QueryAsync(db => db.Set<AnalysisRun>().SingleAsync(r => r.Id == run.RunId));
        Assert.Equal(2_345, stored.TotalAnalyses);
        Assert.NotNull(stored.DispatchedAt);
    }

    [Fact]
    public async Task Should_create_nothing_twice_when_pages_are_redelivered()
    {
        using var database = new PromptAnalysisDatabase();
        await database.AddProjectAsync(activePrompts: 1_500);
        var run = await database.StartOnDemandAsync(new RunRequest(AnalysisRunScope.All, null, null, false, null));
        var first = await database.DispatchAllAsync(run.RunId);

        var again = await database.DispatchAllAsync(run.RunId);
        var secondPageAgain = await database.DispatchPageAsync(run.RunId, first[0].NextAfter);

        Assert.Equal(1_500, first.Sum(p => p.Created));
        Assert.Equal(0, again.Sum(p => p.Created) + secondPageAgain.Created);
        Assert.Equal(1_500, await database.QueryAsync(db => db.Set<AnalysisJob>().CountAsync(j => j.RunId == run.RunId)));
    }

    [Fact]
    public async Task Should_keep_to_its_scope()
    {
        using var database = new PromptAnalysisDatabase();
        var wanted = await database.AddProjectAsync(activePrompts: 3, inactivePrompts: 2);
        await database.AddProjectAsync(activePrompts: 4);
        var inactive = await database.QueryAsync(db => db.Set<TrackedPrompt>().FirstAsync(p => p.ProjectId == wanted.Id && !p.Active));

        var projectRun = await database.StartOnDemandAsync(new RunRequest(AnalysisRunScope.Project, wanted.Id, null, false, null));
        var promptRun = await database.StartOnDemandAsync(new RunRequest(AnalysisRunScope.Prompt, null, inactive.Id, false, null));
        await database.DispatchAllAsync(projectRun.RunId);
        await database.DispatchAllAsync(promptRun.RunId);

        var projectJobs = await database.QueryAsync(db => db.Set<AnalysisJob>().Where(j => j.RunId == projectRun.RunId).ToListAsync());
        Assert.Equal(3, projectJobs.Count);
        Assert.All(projectJobs, job => Assert.Equal(wanted.Id, job.ProjectId));
        var promptJob = Assert.Single(await database.QueryAsync(db => db.Set<AnalysisJob>().Where(j => j.RunId == promptRun.RunId).ToListAsync()));
        Assert.Equal(inactive.Id, promptJob.PromptId);
    }
}

public sealed class When_a_run_is_requested_twice
{
    [Fact]
    public async Task Should_start_one_run_per_schedule_slot()
    {
        using var database = new PromptAnalysisDatabase();
        var slot = new DateTimeOffset(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

        var first = await database.StartScheduledAsync(slot);
        var second = await database.StartScheduledAsync(slot);
        var sameSlotElsewhere = await database.StartScheduledAsync(slot.ToOffset(TimeSpan.FromHours(1)));
        var nextDay = await database.StartScheduledAsync(slot.AddDays(1));

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal(first.RunId, second.RunId);
        Assert.Equal(first.RunId, sameSlotElsewhere.RunId);
        Assert.NotEqual(first.RunId, nextDay.RunId);
        Assert.Equal(2, await database.QueryAsync(db => db.Set<AnalysisRun>().CountAsync()));
        // One fan-out message per run created, none for the repeats.
        var dispatches = await database.QueryAsync(db => db.Set<OutboxMessage>().CountAsync(m => m.MessageType == typeof(DispatchPromptAnalysisRun).FullName));
        Assert.Equal(2, dispatches);
    }

    [Fact]
    public async Task Should_return_the_same_on_demand_run_unless_forced()
    {
        using var database = new PromptAnalysisDatabase();
        var project = await database.AddProjectAsync(activePrompts: 2);

        var first = await database.StartOnDemandAsync(new RunRequest(AnalysisRunScope.Project, project.Id, null, false, "ann"));
        var repeat = await database.StartOnDemandAsync(new RunRequest(AnalysisRunScope.Project, project.Id, null, false, "ann"));
        var forced = await database.StartOnDemandAsync(new RunRequest(AnalysisRunScope.Project, project.Id, null, true, "ann"));
        var forcedAgain = await database.StartOnDemandAsync(new RunRequest(AnalysisRunScope.Project, project.Id, null, true, "ann"));

        Assert.Equal(first.RunId, repeat.RunId);
        Assert.False(repeat.Created);
        Assert.True(forced.Created);
        Assert.True(forcedAgain.Created);
        Assert.Equal(3, new[] { first.RunId, forced.RunId, forcedAgain.RunId }.Distinct().Count());
        var forcedRun = await database.QueryAsync(db => db.Set<AnalysisRun>().SingleAsync(r => r.Id == forced.RunId));
        Assert.True(forcedRun.Forced);
    }
}

public sealed class When_pending_analyses_are_claimed
{
    [Fact]
    public async Task Should_never_run_more_than_the_cap_and_fill_freed_slots()
    {
        using var database = new PromptAnalysisDatabase(new PromptAnalysesOptions { MaxConcurrentAnalyses = 3 });
        await database.AddProjectAsync(activePrompts: 8);
        var run = await database.StartScheduledAsync(DateTimeOffset.UtcNow);
        await database.DispatchAllAsync(run.RunId);

        var claims = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => database.ClaimAsync()));

        Assert.Equal(3, claims.Sum());
        Assert.Equal(3, await CountAsync(database, AnalysisJobStatus.Running));
        Assert.Equal(0, await database.ClaimAsync());

        var done = await database.QueryAsync(db => db.Set<AnalysisJob>().FirstAsync(j => j.Status == AnalysisJobStatus.Running));
        await database.WithAsync((db, outbox) => new PromptAnalysisClaimer(db, outbox, database.Options, TimeProvider.System,
                Microsoft.Extensions.Logging.Abstractions.NullLogger<PromptAnalysisClaimer>.Instance)
            .FinishAsync(new PromptAnalysisFinished(done.Id, run.RunId, done.PromptId, AnalysisJobStatus.Completed, 4, 4, 0), CancellationToken.None)
            .ContinueWith(_ => 0));

        Assert.Equal(3, await CountAsync(database, AnalysisJobStatus.Running));
        Assert.Equal(1, await CountAsync(database, AnalysisJobStatus.Completed));
        Assert.Equal(4, await CountAsync(database, AnalysisJobStatus.Pending));
        var starts = await database.QueryAsync(db => db.Set<OutboxMessage>().CountAsync(m => m.MessageType == typeof(StartPromptAnalysis).FullName));
        Assert.Equal(4, starts);
        Assert.True(PromptAnalysisMetrics.MaxObservedInFlight >= 3);
    }

    private static Task<int> CountAsync(PromptAnalysisDatabase database, string status) =>
        database.QueryAsync(db => db.Set<AnalysisJob>().CountAsync(j => j.Status == status));
}
