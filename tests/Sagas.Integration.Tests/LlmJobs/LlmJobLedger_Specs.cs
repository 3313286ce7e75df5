using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.Providers;
using Sagas.Messaging.Outbox;
using Sagas.Modules.Usage;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.LlmJobs;

/// <summary>
/// The ledger's poll path: "still processing" reports are stamped set-based, while real changes of the same call still
/// move items and counters exactly once. Run on both stores, since the set-based UPDATE is translated per provider.
/// </summary>
public abstract class LedgerPollSpecs
{
    protected abstract SagasDbContext CreateContext();

    protected abstract Task PrepareAsync(SagasDbContext db);

    protected async Task StampsUnchangedItemsAndAppliesRealChangesInOneCall()
    {
        var jobId = await CreateJobAsync(
            ("a", LlmJobItemStatus.Processing), ("b", LlmJobItemStatus.Processing), ("c", LlmJobItemStatus.Processing),
            ("q", LlmJobItemStatus.Queued), ("done", LlmJobItemStatus.Succeeded));

        var changes = new[]
        {
            new ItemChange("a", LlmJobItemStatus.Processing),
            new ItemChange("b", LlmJobItemStatus.Processing),
            new ItemChange("q", LlmJobItemStatus.Processing),
            new ItemChange("done", LlmJobItemStatus.Processing),
            new ItemChange("c", LlmJobItemStatus.Succeeded, new FlagDecision(true, "spam", 0.9, "r"), new LlmTokenUsage(10, 5)),
            new ItemChange("unknown", LlmJobItemStatus.Processing),
        };

        var first = await ApplyAsync(jobId, changes);
        var second = await ApplyAsync(jobId, changes);

        await using var db = CreateContext();
        var items = await db.Set<LlmJobItem>().AsNoTracking().Where(i => i.JobId == jobId).ToDictionaryAsync(i => i.ItemId);
        var job = await db.Set<LlmJob>().AsNoTracking().SingleAsync(j => j.Id == jobId);

        Assert.Equal((1, 4), (first.Transitions, first.Touched));
        Assert.Equal((0, 3), (second.Transitions, second.Touched));
        Assert.Equal(2, items["a"].PollCount);
        Assert.Equal(2, items["b"].PollCount);
        Assert.NotNull(items["a"].LastPolledAt);
        Assert.Equal((LlmJobItemStatus.Processing, 2), (items["q"].Status, items["q"].PollCount));
        Assert.NotNull(items["q"].SubmittedAt);
        Assert.Equal((LlmJobItemStatus.Succeeded, 0), (items["done"].Status, items["done"].PollCount));
        Assert.Equal((LlmJobItemStatus.Succeeded, 1, true, 10), (items["c"].Status, items["c"].PollCount, items["c"].Flagged, items["c"].InputTokens));
        Assert.Equal((2, 2, 0), (job.ProcessedItems, job.SucceededItems, job.FailedItems));
        Assert.Equal(LlmJobStatus.Running, job.Status);
        // The redelivered result counted no second model call.
        var usage = Assert.Single(await db.Set<ModelUsage>().AsNoTracking().Where(u => u.RunId == jobId).ToListAsync());
        Assert.Equal(("c", 10L, 5L, false), (usage.ItemId, usage.InputTokens, usage.OutputTokens, usage.Batch));
        Assert.Equal(0.00007m, usage.Cost);
    }

    protected async Task RecordsTheSameCallOnce()
    {
        await using (var prepare = CreateContext())
            await PrepareAsync(prepare);
        var call = new ModelCall($"spec/{Guid.NewGuid():N}", "llm-jobs", "simulated", "m", 1_000, 100) { RunId = Guid.NewGuid(), ItemId = "a", Batch = true, CachedInputTokens = 500 };

        var first = await RecordAsync(call);
        var second = await RecordAsync(call);

        Assert.Single(first);
        Assert.Empty(second);
        await using var db = CreateContext();
        var row = Assert.Single(await db.Set<ModelUsage>().AsNoTracking().Where(u => u.RunId == call.RunId).ToListAsync());
        Assert.Equal((1_000L, 500L, true, DateOnly.FromDateTime(row.At.UtcDateTime)), (row.InputTokens, row.CachedInputTokens, row.Batch, row.Day));
        // 1,000 input tokens at 2 per million (cached ones too: no cached rate), 100 output at 10, at half price.
        Assert.Equal(0.0015m, row.Cost);
    }

    private async Task<IReadOnlyList<ModelUsage>> RecordAsync(ModelCall call)
    {
        await using var db = CreateContext();
        var ledger = Usage(db);
        await using var transaction = await db.Database.BeginTransactionAsync();
        var recorded = await ledger.RecordAsync([call], CancellationToken.None);
        await transaction.CommitAsync();
        ledger.Flush();
        return recorded;
    }

    private static UsageLedger Usage(SagasDbContext db) => new(
        db,
        new PriceTable([new ModelPrice { Provider = "simulated", Model = PriceTable.AnyModel, InputPerMillion = 2m, OutputPerMillion = 10m, BatchDiscount = 0.5m, EffectiveFrom = PriceTable.DefaultsEffectiveFrom }]),
        new UsageMetrics(), TimeProvider.System, NullLogger<UsageLedger>.Instance);

    private async Task<LedgerResult> ApplyAsync(Guid jobId, IReadOnlyCollection<ItemChange> changes)
    {
        await using var db = CreateContext();
        using var signal = new OutboxSignal();
        var ledger = new LlmJobLedger(db, new OutboxWriter(db, signal, new OutboxMessageTypes(SagasWorkflows.Catalog.Assemblies), TimeProvider.System), Usage(db), TimeProvider.System);
        return await ledger.ApplyAsync(jobId, changes, leaseId: null, adjustJob: null, stopReason: null, CancellationToken.None);
    }

    private async Task<Guid> CreateJobAsync(params (string Id, string Status)[] items)
    {
        await using var db = CreateContext();
        await PrepareAsync(db);
        var now = DateTimeOffset.UtcNow;
        var job = new LlmJob
        {
            Id = Guid.NewGuid(), Kind = "flagging", Model = "m", Instructions = "i", Provider = "simulated", Status = LlmJobStatus.Running,
            TotalItems = items.Length + 1, ProcessedItems = 1, SucceededItems = 1, CreatedAt = now, ExpiresAt = now.AddHours(1),
        };
        db.Add(job);
        var sequence = 0;
        foreach (var (id, status) in items)
        {
            db.Add(new LlmJobItem
            {
                JobId = job.Id, ItemId = id, Sequence = sequence++, EntityType = "post", EntityId = id, Input = "x", Status = status,
                ProviderTaskId = status == LlmJobItemStatus.Queued ? null : "resp_" + id, CreatedAt = now,
            });
        }

        // One more item that stays queued, so the job cannot finish within the spec.
        db.Add(new LlmJobItem { JobId = job.Id, ItemId = "later", Sequence = sequence, EntityType = "post", EntityId = "later", Input = "x", CreatedAt = now });
        await db.SaveChangesAsync();
        return job.Id;
    }
}

public sealed class When_the_ledger_records_polls_on_postgresql : LedgerPollSpecs, IClassFixture<PostgresDatabase>
{
    private readonly PostgresDatabase _database;

    public When_the_ledger_records_polls_on_postgresql(PostgresDatabase database) => _database = database;

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_stamp_unchanged_items_and_apply_real_changes_in_one_call() => StampsUnchangedItemsAndAppliesRealChangesInOneCall();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_record_the_same_model_call_once() => RecordsTheSameCallOnce();

    protected override SagasDbContext CreateContext()
    {
        return _database.NewContext();
    }

    protected override Task PrepareAsync(SagasDbContext db) => db.Database.MigrateAsync();
}

public sealed class When_the_ledger_records_polls_on_sqlite : LedgerPollSpecs, IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"sagas-ledger-{Guid.NewGuid():N}.db");

    [Fact]
    public Task Should_stamp_unchanged_items_and_apply_real_changes_in_one_call() => StampsUnchangedItemsAndAppliesRealChangesInOneCall();

    [Fact]
    public Task Should_record_the_same_model_call_once() => RecordsTheSameCallOnce();

    protected override SagasDbContext CreateContext()
    {
        var options = PersistenceRegistration.Configure(new DbContextOptionsBuilder<SagasDbContext>(), DatabaseProvider.Sqlite, $"Data Source={_file};Pooling=False", SagasWorkflows.Model);
        return new SagasDbContext((DbContextOptions<SagasDbContext>)options.Options);
    }

    protected override Task PrepareAsync(SagasDbContext db) => db.Database.EnsureCreatedAsync();

    public void Dispose() => File.Delete(_file);
}
