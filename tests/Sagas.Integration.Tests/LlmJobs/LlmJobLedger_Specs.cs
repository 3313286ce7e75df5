using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Sagas.Contracts.LlmJobs;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.LlmJobs;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.Providers;
using Sagas.Messaging.Outbox;
using Sagas.Modules.Usage;
using Sagas.Modules.Usage.Budgets;
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

    protected async Task KeepsTheNewerDecision()
    {
        var entity = $"post-{Guid.NewGuid():N}";
        var start = new DateTimeOffset(2026, 12, 5, 20, 0, 0, TimeSpan.Zero);
        var newer = await CreateJobAsync(entity, keepOpen: true, ("n", LlmJobItemStatus.Processing));
        var older = await CreateJobAsync(entity, keepOpen: true, ("o", LlmJobItemStatus.Processing));
        var latest = await CreateJobAsync(entity, keepOpen: true, ("l", LlmJobItemStatus.Processing));

        await ApplyAsync(newer, [new ItemChange("n", LlmJobItemStatus.Succeeded, new FlagDecision(true, "spam", 0.9, "newer"))], new FakeTimeProvider(start.AddSeconds(10)));
        var late = await ApplyAsync(older, [new ItemChange("o", LlmJobItemStatus.Succeeded, new FlagDecision(false, "none", 0.2, "older"))], new FakeTimeProvider(start));

        await using (var db = CreateContext())
        {
            var flag = await db.Set<EntityFlag>().AsNoTracking().SingleAsync(f => f.EntityType == "post" && f.EntityId == entity);
            Assert.Equal((newer, "n", true, "newer", start.AddSeconds(10)), (flag.JobId, flag.ItemId, flag.Flagged, flag.Reason, flag.DecidedAt));
            // The late result still ends its item and counts; it only does not reach the entity, nor tell anyone it did.
            Assert.Equal(1, late.Transitions);
            var item = await db.Set<LlmJobItem>().AsNoTracking().SingleAsync(i => i.JobId == older && i.ItemId == "o");
            Assert.Equal((LlmJobItemStatus.Succeeded, "older"), (item.Status, item.Reason));
            Assert.Equal(2, (await db.Set<LlmJob>().AsNoTracking().SingleAsync(j => j.Id == older)).SucceededItems);
            Assert.Empty(await OutboxAsync(db, older, nameof(EntityFlagged)));
            Assert.Single(await OutboxAsync(db, newer, nameof(EntityFlagged)));
        }

        await ApplyAsync(latest, [new ItemChange("l", LlmJobItemStatus.Succeeded, new FlagDecision(false, "none", 0.5, "latest"))], new FakeTimeProvider(start.AddSeconds(20)));

        await using (var db = CreateContext())
        {
            var flag = await db.Set<EntityFlag>().AsNoTracking().SingleAsync(f => f.EntityType == "post" && f.EntityId == entity);
            Assert.Equal((latest, "l", false, "latest", start.AddSeconds(20)), (flag.JobId, flag.ItemId, flag.Flagged, flag.Reason, flag.DecidedAt));
            Assert.Single(await OutboxAsync(db, latest, nameof(EntityFlagged)));
        }
    }

    protected async Task CountsARedeliveredSetOfResultsOnce()
    {
        var jobId = await CreateJobAsync(entity: null, keepOpen: false,
            ("a", LlmJobItemStatus.Processing), ("b", LlmJobItemStatus.Processing), ("c", LlmJobItemStatus.Processing), ("d", LlmJobItemStatus.Queued));
        var budgetId = BudgetScope.Run(LlmJobsModule.WorkflowName, jobId);
        await using (var db = CreateContext())
        {
            var budgets = new BudgetStore(db, TimeProvider.System);
            await budgets.SetLimitAsync(budgetId, 1m, CancellationToken.None);
            var reserved = await budgets.ReserveAsync([.. "abcd".Select(id => new BudgetCall(LlmJobLedger.UsageKey(jobId, id.ToString()), [budgetId], 0.01m))], CancellationToken.None);
            Assert.Equal(4, reserved.Reserved);
        }

        var changes = new[]
        {
            new ItemChange("a", LlmJobItemStatus.Succeeded, new FlagDecision(true, "spam", 0.9, "r"), new LlmTokenUsage(10, 5)),
            new ItemChange("b", LlmJobItemStatus.Failed, Usage: new LlmTokenUsage(100, 0), Error: "refused"),
            new ItemChange("c", LlmJobItemStatus.Succeeded),
            new ItemChange("d", LlmJobItemStatus.Cancelled),
        };

        var first = await ApplyAsync(jobId, changes);
        var again = await ApplyAsync(jobId, changes);

        Assert.Equal((4, 4, true), (first.Transitions, first.Touched, first.Finished));
        Assert.Equal((0, 0, false), (again.Transitions, again.Touched, again.Finished));
        await using var check = CreateContext();
        var job = await check.Set<LlmJob>().AsNoTracking().SingleAsync(j => j.Id == jobId);
        Assert.Equal((5, 2, 2, 1, LlmJobStatus.Completed), (job.ProcessedItems, job.SucceededItems, job.FailedItems, job.CancelledItems, job.Status));
        Assert.NotNull(job.FinishedAt);
        var items = await check.Set<LlmJobItem>().AsNoTracking().Where(i => i.JobId == jobId).ToDictionaryAsync(i => i.ItemId);
        Assert.Equal((LlmJobItemStatus.Succeeded, true, "spam", 10, 5, (string?)null, 1), (items["a"].Status, items["a"].Flagged, items["a"].Category, items["a"].InputTokens, items["a"].OutputTokens, items["a"].Error, items["a"].PollCount));
        Assert.Equal((LlmJobItemStatus.Failed, (bool?)null, "refused", 100, 1), (items["b"].Status, items["b"].Flagged, items["b"].Error, items["b"].InputTokens, items["b"].PollCount));
        Assert.Equal((LlmJobItemStatus.Failed, "The provider reported success without a decision.", (int?)null), (items["c"].Status, items["c"].Error, items["c"].InputTokens));
        Assert.Equal((LlmJobItemStatus.Cancelled, (string?)null), (items["d"].Status, items["d"].Error));
        Assert.All(items.Values.Where(i => i.ItemId != "done"), i => Assert.Equal(job.FinishedAt, i.CompletedAt));

        var usage = await check.Set<ModelUsage>().AsNoTracking().Where(u => u.RunId == jobId).OrderBy(u => u.ItemId).ToListAsync();
        Assert.Equal(["a", "b"], usage.Select(u => u.ItemId));
        var budget = await check.Set<Budget>().AsNoTracking().SingleAsync(b => b.Id == budgetId);
        // a and b settle at their cost (0.00007 and 0.0002), c and d give their reservations back, each once.
        Assert.Equal((0m, 0.00027m), (budget.Reserved, budget.Spent));
        var keys = "abcd".Select(id => LlmJobLedger.UsageKey(jobId, id.ToString())).ToList();
        var states = await check.Set<BudgetReservation>().AsNoTracking().Where(r => keys.Contains(r.IdempotencyKey)).ToDictionaryAsync(r => r.IdempotencyKey, r => r.State);
        Assert.Equal([BudgetReservationState.Settled, BudgetReservationState.Settled, BudgetReservationState.Released, BudgetReservationState.Released], keys.Select(k => states[k]));

        Assert.Single(await OutboxAsync(check, jobId, nameof(EntityFlagged)));
        Assert.Single(await OutboxAsync(check, jobId, nameof(LlmJobItemsFinished)));
        Assert.Single(await OutboxAsync(check, jobId, nameof(LlmJobProgressed)));
        var flag = await check.Set<EntityFlag>().AsNoTracking().SingleAsync(f => f.JobId == jobId);
        Assert.Equal(("a", true, "spam", job.FinishedAt), (flag.ItemId, flag.Flagged, flag.Category, (DateTimeOffset?)flag.DecidedAt));
    }

    private static Task<List<OutboxMessage>> OutboxAsync(SagasDbContext db, Guid jobId, string type)
    {
        var id = jobId.ToString();
        var fullName = $"{typeof(EntityFlagged).Namespace}.{type}";
        return db.Set<OutboxMessage>().AsNoTracking().Where(m => m.MessageType == fullName && m.Body.Contains(id)).ToListAsync();
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

    private async Task<LedgerResult> ApplyAsync(Guid jobId, IReadOnlyCollection<ItemChange> changes, TimeProvider? clock = null)
    {
        clock ??= TimeProvider.System;
        await using var db = CreateContext();
        using var signal = new OutboxSignal();
        var ledger = new LlmJobLedger(db, new OutboxWriter(db, signal, new OutboxMessageTypes(SagasWorkflows.Catalog.Assemblies), clock), Usage(db), clock);
        return await ledger.ApplyAsync(jobId, changes, leaseId: null, adjustJob: null, stopReason: null, CancellationToken.None);
    }

    private Task<Guid> CreateJobAsync(params (string Id, string Status)[] items) => CreateJobAsync(entity: null, keepOpen: true, items);

    /// <param name="entity">The entity every item decides; by default each item its own.</param>
    /// <param name="keepOpen">Add an item that stays queued, so the job cannot finish within the spec.</param>
    private async Task<Guid> CreateJobAsync(string? entity, bool keepOpen, params (string Id, string Status)[] items)
    {
        await using var db = CreateContext();
        await PrepareAsync(db);
        var now = DateTimeOffset.UtcNow;
        var job = new LlmJob
        {
            Id = Guid.NewGuid(), Kind = "flagging", Model = "m", Instructions = "i", Provider = "simulated", Status = LlmJobStatus.Running,
            TotalItems = items.Length + (keepOpen ? 2 : 1), ProcessedItems = 1, SucceededItems = 1, CreatedAt = now, ExpiresAt = now.AddHours(1),
        };
        db.Add(job);
        var sequence = 0;
        foreach (var (id, status) in items)
        {
            db.Add(new LlmJobItem
            {
                JobId = job.Id, ItemId = id, Sequence = sequence++, EntityType = "post", EntityId = entity ?? id, Input = "x", Status = status,
                ProviderTaskId = status == LlmJobItemStatus.Queued ? null : "resp_" + id, CreatedAt = now,
            });
        }

        if (keepOpen)
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

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_never_let_an_older_decision_replace_a_newer_one() => KeepsTheNewerDecision();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_count_a_redelivered_set_of_results_once() => CountsARedeliveredSetOfResultsOnce();

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

    [Fact]
    public Task Should_never_let_an_older_decision_replace_a_newer_one() => KeepsTheNewerDecision();

    [Fact]
    public Task Should_count_a_redelivered_set_of_results_once() => CountsARedeliveredSetOfResultsOnce();

    protected override SagasDbContext CreateContext()
    {
        var options = PersistenceRegistration.Configure(new DbContextOptionsBuilder<SagasDbContext>(), DatabaseProvider.Sqlite, $"Data Source={_file};Pooling=False", SagasWorkflows.Model);
        return new SagasDbContext((DbContextOptions<SagasDbContext>)options.Options);
    }

    protected override Task PrepareAsync(SagasDbContext db) => db.Database.EnsureCreatedAsync();

    public void Dispose() => File.Delete(_file);
}
