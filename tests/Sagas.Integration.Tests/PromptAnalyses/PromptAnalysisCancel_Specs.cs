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

/// <summary>
/// Cancels racing claims on PostgreSQL: each analysis ends with exactly one outcome (cancelled before any start, or
/// started and then cancelled with its saga told), none is left running, and the run finishes once.
/// </summary>
public sealed class When_cancels_race_claims_on_postgresql(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private const int Cap = 4;
    private const int Prompts = 40;
    private readonly PromptAnalysesOptions _options = new() { MaxConcurrentAnalyses = Cap };

    [ServerFact(postgres: true)]
    public async Task Should_end_every_analysis_with_exactly_one_outcome_and_free_every_slot()
    {
        await using (var db = database.NewContext())
            await db.Database.MigrateAsync();
        var runId = await SeedRunAsync();
        var jobs = await database.QueryAsync(db => db.Set<AnalysisJob>().Where(j => j.RunId == runId).Select(j => j.Id).ToListAsync());

        // Every analysis cancelled at a random moment while claimers keep taking pending ones (and each cancel claims too).
        var random = new Random(11);
        var work = jobs.Select(id => DelayedAsync(random.Next(0, 60), () => CancelAsync(id)))
            .Concat(Enumerable.Range(0, 16).Select(_ => DelayedAsync(random.Next(0, 60), ClaimAsync)))
            .ToList();
        var outcomes = await Task.WhenAll(work);

        Assert.Equal(Prompts, outcomes.Count(o => o == (int)CancelOutcome.Cancelled));
        var statuses = await database.QueryAsync(db => db.Set<AnalysisJob>().Where(j => j.RunId == runId).Select(j => new { j.Id, j.Status, j.StartedAt }).ToListAsync());
        Assert.All(statuses, job => Assert.Equal(AnalysisJobStatus.Cancelled, job.Status));
        var starts = (await OutboxAsync<StartPromptAnalysis>()).GroupBy(s => s.AnalysisId).ToDictionary(g => g.Key, g => g.Count());
        var cancels = (await OutboxAsync<PromptAnalysisCancelled>()).GroupBy(c => c.AnalysisId).ToDictionary(g => g.Key, g => g.Count());
        foreach (var job in statuses)
        {
            // Started once and its saga told once, or never started and no saga to tell.
            var started = starts.GetValueOrDefault(job.Id);
            Assert.InRange(started, 0, 1);
            Assert.Equal(started, cancels.GetValueOrDefault(job.Id));
            Assert.Equal(started == 1, job.StartedAt is not null);
        }

        Assert.Equal(0, await database.QueryAsync(db => db.Set<AnalysisJob>().CountAsync(j => j.Status == AnalysisJobStatus.Running)));
        var finished = Assert.Single(await OutboxAsync<PromptAnalysisRunFinished>());
        Assert.Equal((Prompts, 0, 0, Prompts), (finished.TotalAnalyses, finished.CompletedAnalyses, finished.FailedAnalyses, finished.CancelledAnalyses));

        // The sagas' own finishes (cancelled) and cancels sent again change nothing.
        await Task.WhenAll(cancels.Keys.Select(id => FinishCancelledAsync(id, runId)).Concat(jobs.Take(5).Select(CancelAsync)));
        Assert.Single(await OutboxAsync<PromptAnalysisRunFinished>());
        Assert.Equal(cancels.Count, (await OutboxAsync<PromptAnalysisCancelled>()).Count);
    }

    private static async Task<int> DelayedAsync(int milliseconds, Func<Task<int>> action)
    {
        await Task.Delay(milliseconds);
        return await action();
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

    private PromptAnalysisClaimer Claimer(Sagas.Persistence.SagasDbContext db, OutboxWriter outbox) =>
        new(db, outbox, _options, TimeProvider.System, NullLogger<PromptAnalysisClaimer>.Instance);

    /// <returns>-1, so that a claim's result is never taken for a cancel outcome.</returns>
    private async Task<int> ClaimAsync()
    {
        await database.WithOutboxAsync((db, outbox) => Claimer(db, outbox).ClaimAsync(CancellationToken.None));
        return -1;
    }

    private Task<int> CancelAsync(Guid id) =>
        database.WithOutboxAsync(async (db, outbox) => (int)await Claimer(db, outbox).CancelAsync(id, "race", CancellationToken.None));

    private Task<int> FinishCancelledAsync(Guid id, Guid runId) =>
        database.WithOutboxAsync(async (db, outbox) =>
        {
            await Claimer(db, outbox).FinishAsync(new PromptAnalysisFinished(id, runId, Guid.Empty, AnalysisJobStatus.Cancelled, 1, 0, 0), CancellationToken.None);
            return 0;
        });

    private async Task<List<T>> OutboxAsync<T>()
    {
        var bodies = await database.QueryAsync(db => db.Set<OutboxMessage>().Where(m => m.MessageType == typeof(T).FullName).Select(m => m.Body).ToListAsync());
        return [.. bodies.Select(body => JsonSerializer.Deserialize<T>(body, OutboxMessageTypes.JsonOptions)!)];
    }
}
