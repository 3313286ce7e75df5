using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Messaging.Outbox;
using Sagas.PromptAnalyses;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Runs;

namespace Sagas.Integration.Tests.PromptAnalyses;

public sealed class When_many_claimers_race_on_postgresql(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private const int Cap = 5;
    private const int Prompts = 60;
    private readonly PromptAnalysesOptions _options = new() { MaxConcurrentAnalyses = Cap };

    [ServerFact(postgres: true)]
    public async Task Should_never_run_more_than_the_cap_and_start_every_analysis_exactly_once()
    {
        await using (var db = database.NewContext())
            await db.Database.MigrateAsync();
        var runId = await SeedRunAsync();

        var firstRound = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => ClaimAsync()));
        Assert.Equal(Cap, firstRound.Sum());
        Assert.Equal(Cap, await CountAsync(AnalysisJobStatus.Running));

        // Finish analyses while claimers keep racing, as completions on several workers would.
        var random = new Random(7);
        while (await CountAsync(AnalysisJobStatus.Pending) + await CountAsync(AnalysisJobStatus.Running) > 0)
        {
            var running = await database.QueryAsync(db => db.Set<AnalysisJob>().Where(j => j.Status == AnalysisJobStatus.Running).ToListAsync());
            var finishing = running.Take(random.Next(1, running.Count + 1)).ToList();
            var work = finishing.Select(job => FinishAsync(job, runId)).Concat(Enumerable.Range(0, 6).Select(_ => ClaimAsync())).ToList();
            await Task.WhenAll(work);
            Assert.InRange(await CountAsync(AnalysisJobStatus.Running), 0, Cap);
        }

        Assert.Equal(Prompts, await CountAsync(AnalysisJobStatus.Completed));
        var starts = await database.QueryAsync(db => db.Set<OutboxMessage>().Where(m => m.MessageType == typeof(StartPromptAnalysis).FullName).Select(m => m.Body).ToListAsync());
        Assert.Equal(Prompts, starts.Count);
        Assert.Equal(Prompts, starts.Distinct().Count());
        Assert.InRange(PromptAnalysisMetrics.MaxObservedInFlight, Cap, Cap);
    }

    private async Task<Guid> SeedRunAsync()
    {
        await using (var db = database.NewContext())
        {
            var now = DateTimeOffset.UtcNow;
            var project = new AnalysisProject { Id = Guid.NewGuid(), Name = "Acme", CreatedAt = now, UpdatedAt = now };
            db.Add(project);
            db.AddRange(Enumerable.Range(0, Prompts).Select(i => new TrackedPrompt
            {
                Id = Guid.NewGuid(), ProjectId = project.Id, Text = $"prompt {i}", Active = true, Platforms = ["openai"], CreatedAt = now, UpdatedAt = now,
            }));
            await db.SaveChangesAsync();
        }

        var run = await database.WithOutboxAsync((db, outbox) => new PromptAnalysisRunStarter(db, outbox, TimeProvider.System).StartScheduledAsync(DateTimeOffset.UtcNow, CancellationToken.None));
        await database.WithOutboxAsync((db, outbox) => new PromptAnalysisFanOut(db, outbox, _options, TimeProvider.System).DispatchPageAsync(run.RunId, null, CancellationToken.None));
        return run.RunId;
    }

    private Task<int> ClaimAsync() =>
        database.WithOutboxAsync((db, outbox) => new PromptAnalysisClaimer(db, outbox, _options, TimeProvider.System, NullLogger<PromptAnalysisClaimer>.Instance).ClaimAsync(CancellationToken.None));

    private Task<int> FinishAsync(AnalysisJob job, Guid runId) =>
        database.WithOutboxAsync(async (db, outbox) =>
        {
            await new PromptAnalysisClaimer(db, outbox, _options, TimeProvider.System, NullLogger<PromptAnalysisClaimer>.Instance)
                .FinishAsync(new PromptAnalysisFinished(job.Id, runId, job.PromptId, AnalysisJobStatus.Completed, 1, 1, 0), CancellationToken.None);
            return 0;
        });

    private Task<int> CountAsync(string status) => database.QueryAsync(db => db.Set<AnalysisJob>().CountAsync(j => j.Status == status));
}
