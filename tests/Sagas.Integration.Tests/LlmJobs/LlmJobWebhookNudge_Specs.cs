using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.LlmJobs;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.LlmJobs.Api;
using Sagas.LlmJobs.Data;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.LlmJobs;

/// <summary>
/// The webhook's set-based UPDATEs (a subquery on items or batches, a conditional due time) on both stores, since
/// each provider translates them; the PostgreSQL run also applies the migration that indexes provider task ids.
/// </summary>
public abstract class WebhookNudgeSpecs
{
    protected abstract SagasDbContext CreateContext();

    protected abstract Task PrepareAsync(SagasDbContext db);

    protected async Task PullsForwardOnlyRunningJobsAndNeverPostpones()
    {
        var later = DateTimeOffset.UtcNow.AddHours(1);
        var earlier = DateTimeOffset.UtcNow.AddMinutes(-2);
        var waiting = await CreateJobAsync(LlmJobStatus.Running, later);
        var alreadyDue = await CreateJobAsync(LlmJobStatus.Running, earlier);
        var finished = await CreateJobAsync(LlmJobStatus.Completed, null);
        var batchJob = await CreateJobAsync(LlmJobStatus.Running, later, batch: true);
        var before = DateTimeOffset.UtcNow;

        var outcomes = new[]
        {
            await NudgeAsync(n => n.ResponseFinishedAsync($"resp_{waiting:N}", CancellationToken.None)),
            await NudgeAsync(n => n.ResponseFinishedAsync($"resp_{alreadyDue:N}", CancellationToken.None)),
            await NudgeAsync(n => n.ResponseFinishedAsync($"resp_{finished:N}", CancellationToken.None)),
            await NudgeAsync(n => n.ResponseFinishedAsync("resp_nobody", CancellationToken.None)),
            await NudgeAsync(n => n.BatchFinishedAsync($"batch_{batchJob:N}", CancellationToken.None)),
            await NudgeAsync(n => n.BatchFinishedAsync("batch_nobody", CancellationToken.None)),
        };

        Assert.Equal([true, true, false, false, true, false], outcomes);
        await using var db = CreateContext();
        var jobs = await db.Set<LlmJob>().AsNoTracking().Where(j => new[] { waiting, alreadyDue, finished, batchJob }.Contains(j.Id)).ToDictionaryAsync(j => j.Id);
        Assert.InRange(jobs[waiting].NextPollAt!.Value, before.AddSeconds(-1), DateTimeOffset.UtcNow);
        Assert.InRange(jobs[batchJob].NextPollAt!.Value, before.AddSeconds(-1), DateTimeOffset.UtcNow);
        Assert.Equal(earlier.ToUnixTimeMilliseconds(), jobs[alreadyDue].NextPollAt!.Value.ToUnixTimeMilliseconds());
        Assert.Null(jobs[finished].NextPollAt);
        var nudgedItem = await db.Set<LlmJobItem>().AsNoTracking().SingleAsync(i => i.JobId == waiting);
        Assert.Null(nudgedItem.LastPolledAt);
    }

    private async Task<bool> NudgeAsync(Func<LlmJobWebhookNudge, Task<bool>> nudge)
    {
        await using var db = CreateContext();
        // Spent for the day: these specs cover the database side; no extra poll tick is published.
        var throttle = new PollTickThrottle(TimeSpan.FromDays(1));
        throttle.TryTake(DateTimeOffset.UtcNow);
        return await nudge(new LlmJobWebhookNudge(db, null!, throttle, TimeProvider.System));
    }

    private async Task<Guid> CreateJobAsync(string status, DateTimeOffset? nextPollAt, bool batch = false)
    {
        await using var db = CreateContext();
        await PrepareAsync(db);
        var now = DateTimeOffset.UtcNow;
        var job = new LlmJob
        {
            Id = Guid.NewGuid(), Kind = "flagging", Model = "m", Instructions = "i", Provider = "openai", Status = status,
            Mode = batch ? LlmJobMode.Batch : LlmJobMode.Background, TotalItems = 1, CreatedAt = now, ExpiresAt = now.AddHours(1),
            NextPollAt = nextPollAt,
        };
        db.Add(job);
        db.Add(new LlmJobItem
        {
            JobId = job.Id, ItemId = "a", EntityType = "post", EntityId = "a", Input = "x",
            Status = status == LlmJobStatus.Running ? LlmJobItemStatus.Processing : LlmJobItemStatus.Succeeded,
            ProviderTaskId = batch ? null : $"resp_{job.Id:N}", ProviderBatchId = batch ? $"batch_{job.Id:N}" : null,
            CreatedAt = now, LastPolledAt = now,
        });
        if (batch)
            db.Add(new LlmJobBatch { JobId = job.Id, BatchId = $"batch_{job.Id:N}", Status = "in_progress", ItemCount = 1, CreatedAt = now });
        await db.SaveChangesAsync();
        return job.Id;
    }
}

public sealed class When_a_webhook_nudges_jobs_on_postgresql : WebhookNudgeSpecs, IClassFixture<PostgresDatabase>
{
    private readonly PostgresDatabase _database;

    public When_a_webhook_nudges_jobs_on_postgresql(PostgresDatabase database) => _database = database;

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_pull_forward_only_running_jobs_and_never_postpone() => PullsForwardOnlyRunningJobsAndNeverPostpones();

    protected override SagasDbContext CreateContext()
    {
        return _database.NewContext();
    }

    protected override Task PrepareAsync(SagasDbContext db) => db.Database.MigrateAsync();
}

public sealed class When_a_webhook_nudges_jobs_on_sqlite : WebhookNudgeSpecs, IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"sagas-webhook-{Guid.NewGuid():N}.db");

    [Fact]
    public Task Should_pull_forward_only_running_jobs_and_never_postpone() => PullsForwardOnlyRunningJobsAndNeverPostpones();

    protected override SagasDbContext CreateContext()
    {
        var options = PersistenceRegistration.Configure(new DbContextOptionsBuilder<SagasDbContext>(), DatabaseProvider.Sqlite, $"Data Source={_file};Pooling=False", SagasWorkflows.Model);
        return new SagasDbContext((DbContextOptions<SagasDbContext>)options.Options);
    }

    protected override Task PrepareAsync(SagasDbContext db) => db.Database.EnsureCreatedAsync();

    public void Dispose() => File.Delete(_file);
}
