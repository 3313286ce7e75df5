using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Modules.Usage;
using Sagas.Modules.Usage.Budgets;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Budgets;

/// <summary>
/// The budget store's promises, on both stores: concurrent reservations are admitted exactly as far as the limit goes,
/// a redelivered call reserves and settles once, a failed call and a lapsed reservation give their estimate back.
/// </summary>
public abstract class BudgetStoreSpecs
{
    private static readonly PriceTable Prices = new([new ModelPrice
    {
        Provider = "simulated", Model = PriceTable.AnyModel, InputPerMillion = 0m, OutputPerMillion = 1_000m, EffectiveFrom = PriceTable.DefaultsEffectiveFrom,
    }]);

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    protected abstract SagasDbContext CreateContext();

    protected abstract Task PrepareAsync(SagasDbContext db);

    protected async Task AdmitsExactlyWhatTheLimitHolds(int racers)
    {
        var budgetId = await NewBudgetAsync(1.00m);

        // Fourteen calls of 0.07 fit in 1.00 (0.98); a fifteenth would pass it.
        var results = await Task.WhenAll(Enumerable.Range(0, racers).Select(i => Task.Run(async () =>
        {
            await using var db = CreateContext();
            return await Store(db).ReserveAsync([new BudgetCall($"spec/{budgetId}/{i}", [budgetId], 0.07m)], CancellationToken.None);
        })));

        Assert.Equal(14, results.Count(r => r.Reserved == 1));
        Assert.Equal(racers - 14, results.Count(r => r.Refusal is not null));
        var budget = await FindAsync(budgetId);
        Assert.Equal((0.98m, 0m), (budget.Reserved, budget.Spent));
        Assert.True(budget.Spent + budget.Reserved <= budget.LimitUsd);
        Assert.True(budget.IsPaused);
        Assert.StartsWith("run budget of $1.00 reached: $0.00 spent, $0.98 reserved, next call estimated $0.07", budget.PausedReason);
        await using var check = CreateContext();
        Assert.Equal(14, await check.Set<BudgetReservation>().CountAsync(r => r.BudgetIds == budgetId && r.State == BudgetReservationState.Reserved));
    }

    protected async Task ReservesAndSettlesARedeliveredCallOnce()
    {
        var runId = Guid.NewGuid();
        var budgetId = await NewBudgetAsync(1.00m, runId);
        var call = new BudgetCall($"spec/{runId:N}/a", [budgetId], 0.10m);

        await ReserveAsync(call);
        await ReserveAsync(call);
        Assert.Equal(0.10m, (await FindAsync(budgetId)).Reserved);

        // 80 output tokens at 1,000 per million: 0.08, settled twice as a redelivered result would be.
        var usage = new ModelCall(call.IdempotencyKey, "spec", "simulated", "m", 500, 80) { RunId = runId, ItemId = "a" };
        Assert.Single(await RecordAsync(usage));
        Assert.Empty(await RecordAsync(usage));
        await ReserveAsync(call);

        var budget = await FindAsync(budgetId);
        Assert.Equal((0m, 0.08m), (budget.Reserved, budget.Spent));
        await using var db = CreateContext();
        Assert.Equal(BudgetReservationState.Settled, (await db.Set<BudgetReservation>().SingleAsync(r => r.IdempotencyKey == call.IdempotencyKey)).State);
    }

    protected async Task GivesBackFailedAndLapsedReservations()
    {
        var runId = Guid.NewGuid();
        var budgetId = await NewBudgetAsync(0.30m, runId);
        var failed = new BudgetCall($"spec/{runId:N}/failed", [budgetId], 0.10m);
        var crashed = new BudgetCall($"spec/{runId:N}/crashed", [budgetId], 0.10m);
        var third = new BudgetCall($"spec/{runId:N}/third", [budgetId], 0.10m);
        var fourth = new BudgetCall($"spec/{runId:N}/fourth", [budgetId], 0.10m);
        Assert.Equal(3, (await ReserveAsync(failed, crashed, third, fourth)).Reserved);

        await ReleaseAsync(failed.IdempotencyKey);
        await ReleaseAsync(failed.IdempotencyKey);
        Assert.Equal(0.20m, (await FindAsync(budgetId)).Reserved);

        _clock.Advance(TimeSpan.FromMinutes(16));
        await using (var db = CreateContext())
        {
            // Other specs' reservations in this database lapse too: at least this budget's two.
            Assert.True(await Store(db).ReleaseLapsedAsync(CancellationToken.None) >= 2);
            var states = await db.Set<BudgetReservation>().Where(r => r.BudgetIds == budgetId).ToDictionaryAsync(r => r.IdempotencyKey, r => r.State);
            Assert.Equal([BudgetReservationState.Lapsed, BudgetReservationState.Lapsed, BudgetReservationState.Released],
                [states[crashed.IdempotencyKey], states[third.IdempotencyKey], states[failed.IdempotencyKey]]);
        }

        Assert.Equal(0m, (await FindAsync(budgetId)).Reserved);

        // The crashed call's result arrives after all: its cost is spent, nothing more is given back.
        await RecordAsync(new ModelCall(crashed.IdempotencyKey, "spec", "simulated", "m", 10, 50) { RunId = runId });
        Assert.Equal((0m, 0.05m), ((await FindAsync(budgetId)).Reserved, (await FindAsync(budgetId)).Spent));
    }

    protected async Task LiftsThePauseWhenRaisedOnce()
    {
        var runId = Guid.NewGuid();
        await RecordAsync(new ModelCall($"spec/{runId:N}/before", "spec", "simulated", "m", 10, 40) { RunId = runId });
        var budgetId = await NewBudgetAsync(0.05m, runId);
        Assert.Equal(0.04m, (await FindAsync(budgetId)).Spent);

        var refused = await ReserveAsync(new BudgetCall($"spec/{runId:N}/next", [budgetId], 0.02m));
        Assert.Equal(0, refused.Reserved);
        Assert.Equal("run budget of $0.05 reached: $0.04 spent, $0.00 reserved, next call estimated $0.02", refused.Refusal!.Reason);

        await using var db = CreateContext();
        var raised = await Store(db).SetLimitAsync(budgetId, 0.10m, CancellationToken.None);
        var again = await Store(db).SetLimitAsync(budgetId, 0.20m, CancellationToken.None);
        Assert.True(raised.WasPaused);
        Assert.False(again.WasPaused);
        Assert.Equal((false, 0.20m), (again.Budget.IsPaused, again.Budget.LimitUsd));
        Assert.Equal(1, (await ReserveAsync(new BudgetCall($"spec/{runId:N}/next", [budgetId], 0.02m))).Reserved);
    }

    private async Task<string> NewBudgetAsync(decimal limit, Guid? runId = null)
    {
        await using var db = CreateContext();
        await PrepareAsync(db);
        var budgetId = BudgetScope.Run("spec", runId ?? Guid.NewGuid());
        await Store(db).SetLimitAsync(budgetId, limit, CancellationToken.None);
        return budgetId;
    }

    private async Task<Budget> FindAsync(string budgetId)
    {
        await using var db = CreateContext();
        return (await Store(db).FindAsync(budgetId, CancellationToken.None))!;
    }

    private async Task<BudgetReservationResult> ReserveAsync(params BudgetCall[] calls)
    {
        await using var db = CreateContext();
        return await Store(db).ReserveAsync(calls, CancellationToken.None);
    }

    private async Task ReleaseAsync(string key)
    {
        await using var db = CreateContext();
        await using var transaction = await db.Database.BeginTransactionAsync();
        await Store(db).ReleaseAsync([key], CancellationToken.None);
        await transaction.CommitAsync();
    }

    private async Task<IReadOnlyList<ModelUsage>> RecordAsync(ModelCall call)
    {
        await using var db = CreateContext();
        await PrepareAsync(db);
        var ledger = new UsageLedger(db, Prices, new UsageMetrics(), _clock, NullLogger<UsageLedger>.Instance);
        await using var transaction = await db.Database.BeginTransactionAsync();
        var recorded = await ledger.RecordAsync([call], CancellationToken.None);
        await transaction.CommitAsync();
        return recorded;
    }

    private BudgetStore Store(SagasDbContext db) => new(db, _clock, new BudgetOptions { ReservationLease = TimeSpan.FromMinutes(15) });
}

public sealed class When_budgets_are_reserved_on_postgresql(PostgresDatabase database) : BudgetStoreSpecs, IClassFixture<PostgresDatabase>
{
    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_admit_exactly_the_calls_the_limit_holds_when_sixty_race() => AdmitsExactlyWhatTheLimitHolds(60);

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_reserve_and_settle_a_redelivered_call_once() => ReservesAndSettlesARedeliveredCallOnce();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_give_back_failed_and_lapsed_reservations() => GivesBackFailedAndLapsedReservations();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_lift_the_pause_when_raised_and_report_it_once() => LiftsThePauseWhenRaisedOnce();

    protected override SagasDbContext CreateContext() => database.NewContext();

    protected override Task PrepareAsync(SagasDbContext db) => db.Database.MigrateAsync();
}

public sealed class When_budgets_are_reserved_on_sqlite : BudgetStoreSpecs, IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"sagas-budgets-{Guid.NewGuid():N}.db");

    [Fact]
    public Task Should_admit_exactly_the_calls_the_limit_holds_when_twenty_race() => AdmitsExactlyWhatTheLimitHolds(20);

    [Fact]
    public Task Should_reserve_and_settle_a_redelivered_call_once() => ReservesAndSettlesARedeliveredCallOnce();

    [Fact]
    public Task Should_give_back_failed_and_lapsed_reservations() => GivesBackFailedAndLapsedReservations();

    [Fact]
    public Task Should_lift_the_pause_when_raised_and_report_it_once() => LiftsThePauseWhenRaisedOnce();

    protected override SagasDbContext CreateContext()
    {
        var options = PersistenceRegistration.Configure(new DbContextOptionsBuilder<SagasDbContext>(), DatabaseProvider.Sqlite, $"Data Source={_file};Pooling=False", SagasWorkflows.Model);
        return new SagasDbContext((DbContextOptions<SagasDbContext>)options.Options);
    }

    protected override Task PrepareAsync(SagasDbContext db) => db.Database.EnsureCreatedAsync();

    public void Dispose() => File.Delete(_file);
}
