using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Messaging.Outbox;
using Sagas.PromptAnalyses;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Runs;

namespace Sagas.Integration.Tests.PromptAnalyses;

public sealed class When_a_runs_last_analyses_finish_concurrently_on_postgresql(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private const int PageSize = 5;

    // Never more running than the claim race spec's cap: the in-flight high-water mark is process-wide.
    private readonly PromptAnalysesOptions _options = new() { MaxConcurrentAnalyses = PageSize, FanOutPageSize = PageSize };

    [ServerFact(postgres: true)]
    public async Task Should_finish_each_run_exactly_once_although_every_finish_arrives_three_times_at_once()
    {
        await MigrateAsync();
        var projectId = await SeedProjectAsync(prompts: PageSize - 1);

        // Several runs: each one is a fresh race between the workers finishing its analyses.
        for (var round = 0; round < 8; round++)
        {
            var runId = await StartAsync(projectId);
            await DispatchAsync(runId, null);
            await ClaimAsync();
            var jobs = await JobsAsync(runId);

            await Task.WhenAll(jobs.SelectMany((job, index) => Enumerable.Range(0, 3).Select(_ =>
                FinishAsync(job, index % 2 == 0 ? AnalysisJobStatus.Completed : AnalysisJobStatus.Failed))));

            var run = await RunAsync(runId);
            Assert.NotNull(run.FinishedAt);
            var finished = Assert.Single(await FinishedEventsAsync(runId));
            Assert.Equal(new PromptAnalysisRunFinished(runId, AnalysisRunTrigger.OnDemand, AnalysisRunScope.Project, 4, 2, 2, run.FinishedAt.Value), finished);
            Assert.Equal((4, 2, 2), (run.TotalAnalyses, run.CompletedAnalyses, run.FailedAnalyses));
        }
    }

    [ServerFact(postgres: true)]
    public async Task Should_finish_a_run_whose_analyses_finished_before_or_while_its_dispatch_completed()
    {
        await MigrateAsync();
        // A full first page: only the (empty) second page dispatches the run.
        var projectId = await SeedProjectAsync(prompts: PageSize);

        var before = await StartAsync(projectId);
        var firstPage = await DispatchAsync(before, null);
        await ClaimAsync();
        foreach (var job in await JobsAsync(before))
            await FinishAsync(job, AnalysisJobStatus.Completed);
        Assert.Null((await RunAsync(before)).FinishedAt);
        Assert.Empty(await FinishedEventsAsync(before));
        await Task.WhenAll(DispatchAsync(before, firstPage.NextAfter), DispatchAsync(before, firstPage.NextAfter));
        Assert.NotNull((await RunAsync(before)).FinishedAt);
        Assert.Single(await FinishedEventsAsync(before));

        for (var round = 0; round < 8; round++)
        {
            var racing = await StartAsync(projectId);
            var page = await DispatchAsync(racing, null);
            await ClaimAsync();
            var jobs = await JobsAsync(racing);
            var work = jobs.SelectMany(job => new Task[] { FinishAsync(job, AnalysisJobStatus.Completed), FinishAsync(job, AnalysisJobStatus.Completed) })
                .Concat([DispatchAsync(racing, page.NextAfter), DispatchAsync(racing, page.NextAfter)]);
            await Task.WhenAll(work);

            Assert.NotNull((await RunAsync(racing)).FinishedAt);
            Assert.Single(await FinishedEventsAsync(racing));
        }
    }

    [ServerFact(postgres: true)]
    public async Task Should_finish_a_run_of_no_prompts_once_when_it_is_dispatched()
    {
        await MigrateAsync();
        var projectId = await SeedProjectAsync(prompts: 0);
        var runId = await StartAsync(projectId);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => DispatchAsync(runId, null)));

        var run = await RunAsync(runId);
        Assert.NotNull(run.FinishedAt);
        Assert.Equal((0, 0, 0), (run.TotalAnalyses, run.CompletedAnalyses, run.FailedAnalyses));
        var finished = Assert.Single(await FinishedEventsAsync(runId));
        Assert.Equal(0, finished.TotalAnalyses);
    }

    private async Task MigrateAsync()
    {
        await using var db = database.NewContext();
        await db.Database.MigrateAsync();
    }

    private async Task<Guid> SeedProjectAsync(int prompts)
    {
        await using var db = database.NewContext();
        var now = DateTimeOffset.UtcNow;
        var project = new AnalysisProject { Id = Guid.NewGuid(), Name = "Acme", CreatedAt = now, UpdatedAt = now };
        db.Add(project);
        db.AddRange(Enumerable.Range(0, prompts).Select(i => new TrackedPrompt
        {
            Id = Guid.NewGuid(), ProjectId = project.Id, Text = $"prompt {i}", Active = true, Platforms = ["openai"], CreatedAt = now, UpdatedAt = now,
        }));
        await db.SaveChangesAsync();
        return project.Id;
    }

    private async Task<Guid> StartAsync(Guid projectId) =>
        (await database.WithOutboxAsync((db, outbox) => new PromptAnalysisRunStarter(db, outbox, TimeProvider.System)
            .StartOnDemandAsync(new RunRequest(AnalysisRunScope.Project, projectId, null, true, "specs"), CancellationToken.None))).RunId;

    private Task<FanOutPage> DispatchAsync(Guid runId, Guid? after) =>
        database.WithOutboxAsync((db, outbox) => new PromptAnalysisFanOut(db, outbox, _options, TimeProvider.System).DispatchPageAsync(runId, after, CancellationToken.None));

    private Task<int> ClaimAsync() =>
        database.WithOutboxAsync((db, outbox) => new PromptAnalysisClaimer(db, outbox, _options, TimeProvider.System, NullLogger<PromptAnalysisClaimer>.Instance).ClaimAsync(CancellationToken.None));

    private Task<int> FinishAsync(AnalysisJob job, string status) =>
        database.WithOutboxAsync(async (db, outbox) =>
        {
            var succeeded = status == AnalysisJobStatus.Completed ? 1 : 0;
            await new PromptAnalysisClaimer(db, outbox, _options, TimeProvider.System, NullLogger<PromptAnalysisClaimer>.Instance)
                .FinishAsync(new PromptAnalysisFinished(job.Id, job.RunId, job.PromptId, status, 1, succeeded, 1 - succeeded), CancellationToken.None);
            return 0;
        });

    private Task<List<AnalysisJob>> JobsAsync(Guid runId) =>
        database.QueryAsync(db => db.Set<AnalysisJob>().Where(j => j.RunId == runId).OrderBy(j => j.Id).ToListAsync());

    private Task<AnalysisRun> RunAsync(Guid runId) => database.QueryAsync(db => db.Set<AnalysisRun>().SingleAsync(r => r.Id == runId));

    private async Task<List<PromptAnalysisRunFinished>> FinishedEventsAsync(Guid runId)
    {
        var bodies = await database.QueryAsync(db => db.Set<OutboxMessage>().Where(m => m.MessageType == typeof(PromptAnalysisRunFinished).FullName).Select(m => m.Body).ToListAsync());
        return [.. bodies.Select(body => JsonSerializer.Deserialize<PromptAnalysisRunFinished>(body, OutboxMessageTypes.JsonOptions)!).Where(e => e.RunId == runId)];
    }
}
