using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Sagas.Persistence;

namespace Sagas.Modules.Usage.Budgets;

/// <summary>One model call about to be made: its usage key, the budget ids of its scopes (<see cref="BudgetScope"/>) and its estimated cost.</summary>
public sealed record BudgetCall(string IdempotencyKey, IReadOnlyList<string> Scopes, decimal Estimate);

/// <summary>Why a reservation was refused, in numbers and in the words the saga and the dashboard show.</summary>
public sealed record BudgetRefusal(string BudgetId, string Kind, decimal LimitUsd, decimal Spent, decimal Reserved, decimal Estimate)
{
    public string Reason => string.Create(CultureInfo.InvariantCulture,
        $"{(Kind == BudgetScope.ProjectDayKind ? "project day" : Kind)} budget of ${LimitUsd:0.00##} reached: ${Spent:0.00##} spent, ${Reserved:0.00##} reserved, next call estimated ${Estimate:0.00####}");
}

/// <summary>How many of the calls, from the first, hold a reservation; the refusal that stopped the rest, if any.</summary>
public sealed record BudgetReservationResult(int Reserved, BudgetRefusal? Refusal)
{
    public bool AllReserved(int calls) => Reserved == calls;
}

/// <summary>The budget of a scope after it was set.</summary>
public sealed record BudgetChange(Budget Budget, bool WasPaused, bool Created);

/// <summary>
/// Reserves before a model call and settles after it. On PostgreSQL each scope's reservation is one conditional UPDATE
/// (<c>spent + reserved + estimate &lt;= limit_usd</c>), so any number of processes racing for the last dollars of a
/// budget are admitted exactly as far as it goes. SQLite (the embedded store, one process) serialises writers: every
/// change here first takes the database's write lock, then reads, decides and writes with exact decimals in .NET.
/// </summary>
public sealed class BudgetStore(SagasDbContext db, TimeProvider clock, BudgetOptions? options = null)
{
    private readonly BudgetOptions _options = options ?? new BudgetOptions();

    private bool Postgres => db.Database.IsNpgsql();

    public Task<Budget?> FindAsync(string budgetId, CancellationToken cancellationToken) =>
        db.Set<Budget>().AsNoTracking().SingleOrDefaultAsync(b => b.Id == budgetId, cancellationToken);

    /// <summary>
    /// Sets a scope's limit (creating the row, with the spend recorded so far, when it is new) and lifts its pause.
    /// Lowering a limit below what is already spent is allowed: the next reservation is refused.
    /// </summary>
    public async Task<BudgetChange> SetLimitAsync(string budgetId, decimal limitUsd, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitUsd);
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var updated = await db.Set<Budget>().Where(b => b.Id == budgetId).ExecuteUpdateAsync(set => set
            .SetProperty(b => b.LimitUsd, limitUsd)
            .SetProperty(b => b.UpdatedAt, now), cancellationToken);
        Budget? before = null;
        if (updated == 0)
        {
            var spent = await SpentSoFarAsync(budgetId, cancellationToken);
            var row = New(budgetId, limitUsd, spent, now);
            var inserted = await db.InsertIgnoringDuplicatesAsync([row], b => b.Id, cancellationToken);
            if (inserted.Count == 0)
                await db.Set<Budget>().Where(b => b.Id == budgetId).ExecuteUpdateAsync(set => set.SetProperty(b => b.LimitUsd, limitUsd).SetProperty(b => b.UpdatedAt, now), cancellationToken);
            else
                before = row;
        }

        var current = await db.Set<Budget>().AsNoTracking().SingleAsync(b => b.Id == budgetId, cancellationToken);
        var wasPaused = current.IsPaused;
        if (wasPaused)
        {
            await db.Set<Budget>().Where(b => b.Id == budgetId).ExecuteUpdateAsync(set => set
                .SetProperty(b => b.PausedAt, (DateTimeOffset?)null)
                .SetProperty(b => b.PausedReason, (string?)null), cancellationToken);
            current.PausedAt = null;
            current.PausedReason = null;
        }

        await transaction.CommitAsync(cancellationToken);
        return new BudgetChange(current, wasPaused, before is not null);
    }

    /// <summary>
    /// Reserves the calls' estimates in order, each on every scope that has a budget or on none; stops at the first call
    /// a budget cannot hold, marks that budget paused with the reason, and says how many calls hold a reservation. A call
    /// whose key already holds one (a redelivery) is not reserved again. Its own transaction: commit before calling out.
    /// </summary>
    public async Task<BudgetReservationResult> ReserveAsync(IReadOnlyList<BudgetCall> calls, CancellationToken cancellationToken)
    {
        if (calls.Count == 0)
            return new BudgetReservationResult(0, null);
        var now = clock.GetUtcNow();
        var scopes = calls.SelectMany(c => c.Scopes).Distinct(StringComparer.Ordinal).ToList();
        // Nothing limits calls without a budget, and nothing would settle their reservation: none is written. A budget
        // set a moment after this read limits the next slice.
        if (!await db.Set<Budget>().AnyAsync(b => scopes.Contains(b.Id), cancellationToken))
            return new BudgetReservationResult(calls.Count, null);

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (!Postgres)
            await TakeWriteLockAsync(scopes, now, cancellationToken);
        var budgeted = (await db.Set<Budget>().AsNoTracking().Where(b => scopes.Contains(b.Id)).Select(b => b.Id).ToListAsync(cancellationToken))
            .ToHashSet(StringComparer.Ordinal);
        await ReleaseLapsedAsync(now, cancellationToken);

        var keys = calls.Select(c => c.IdempotencyKey).ToList();
        var held = await db.Set<BudgetReservation>().AsNoTracking().Where(r => keys.Contains(r.IdempotencyKey))
            .ToDictionaryAsync(r => r.IdempotencyKey, StringComparer.Ordinal, cancellationToken);
        var reserved = 0;
        BudgetRefusal? refusal = null;
        var expires = now + _options.ReservationLease;
        foreach (var call in calls)
        {
            if (held.TryGetValue(call.IdempotencyKey, out var existing) && existing.State is BudgetReservationState.Reserved or BudgetReservationState.Settled)
            {
                reserved++;
                continue;
            }

            var taken = new List<string>();
            foreach (var budgetId in call.Scopes.Where(budgeted.Contains).Order(StringComparer.Ordinal))
            {
                if (await TryReserveAsync(budgetId, call.Estimate, now, cancellationToken))
                {
                    taken.Add(budgetId);
                    continue;
                }

                foreach (var undo in taken)
                    await AdjustAsync(undo, -call.Estimate, 0m, now, cancellationToken);
                refusal = await PauseAsync(budgetId, call.Estimate, now, cancellationToken);
                break;
            }

            if (refusal is not null)
                break;

            var ids = string.Join(' ', taken);
            if (existing is null)
            {
                await db.InsertIgnoringDuplicatesAsync([new BudgetReservation
                {
                    IdempotencyKey = call.IdempotencyKey, BudgetIds = ids, Amount = call.Estimate, State = BudgetReservationState.Reserved,
                    ReservedAt = now, ExpiresAt = expires,
                }], r => r.IdempotencyKey, cancellationToken);
            }
            else
            {
                await db.Set<BudgetReservation>().Where(r => r.IdempotencyKey == call.IdempotencyKey).ExecuteUpdateAsync(set => set
                    .SetProperty(r => r.BudgetIds, ids)
                    .SetProperty(r => r.Amount, call.Estimate)
                    .SetProperty(r => r.State, BudgetReservationState.Reserved)
                    .SetProperty(r => r.ReservedAt, now)
                    .SetProperty(r => r.ExpiresAt, expires)
                    .SetProperty(r => r.ClosedAt, (DateTimeOffset?)null), cancellationToken);
            }

            reserved++;
        }

        await transaction.CommitAsync(cancellationToken);
        return new BudgetReservationResult(reserved, refusal);
    }

    /// <summary>
    /// In the caller's transaction, for usage rows it has just inserted (each call once): the call's reservation leaves
    /// <see cref="Budget.Reserved"/> and its cost is added to <see cref="Budget.Spent"/> of every budget of its scopes.
    /// </summary>
    public async Task SettleAsync(IReadOnlyList<ModelUsage> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
            return;
        var now = clock.GetUtcNow();
        var scopes = rows.SelectMany(ScopesOf).Distinct(StringComparer.Ordinal).ToList();
        var keys = rows.Select(r => r.IdempotencyKey).ToList();
        var budgeted = (await db.Set<Budget>().AsNoTracking().Where(b => scopes.Contains(b.Id)).Select(b => b.Id).ToListAsync(cancellationToken))
            .ToHashSet(StringComparer.Ordinal);
        if (budgeted.Count == 0 && !await db.Set<BudgetReservation>().AnyAsync(r => keys.Contains(r.IdempotencyKey), cancellationToken))
            return;

        foreach (var row in rows)
        {
            var release = await CloseAsync(row.IdempotencyKey, BudgetReservationState.Settled, now, cancellationToken);
            var cost = row.Cost ?? 0m;
            foreach (var budgetId in ScopesOf(row).Where(budgeted.Contains).Union(release?.Budgets ?? [], StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                var held = release is not null && release.Budgets.Contains(budgetId, StringComparer.Ordinal) ? release.Amount : 0m;
                await AdjustAsync(budgetId, -held, budgeted.Contains(budgetId) ? cost : 0m, now, cancellationToken);
            }
        }
    }

    /// <summary>In the caller's transaction: gives back the reservations of calls that were not made or failed without usage.</summary>
    public async Task ReleaseAsync(IReadOnlyCollection<string> idempotencyKeys, CancellationToken cancellationToken)
    {
        if (idempotencyKeys.Count == 0)
            return;
        var keys = idempotencyKeys.ToList();
        if (!await db.Set<BudgetReservation>().AnyAsync(r => keys.Contains(r.IdempotencyKey) && r.State == BudgetReservationState.Reserved, cancellationToken))
            return;
        var now = clock.GetUtcNow();
        foreach (var key in keys)
        {
            if (await CloseAsync(key, BudgetReservationState.Released, now, cancellationToken) is { } released)
            {
                foreach (var budgetId in released.Budgets.Order(StringComparer.Ordinal))
                    await AdjustAsync(budgetId, -released.Amount, 0m, now, cancellationToken);
            }
        }
    }

    /// <summary>Gives back reservations held past their lease (their consumer died between reserving and recording). Runs in the current transaction, or its own.</summary>
    /// <returns>How many lapsed.</returns>
    public async Task<int> ReleaseLapsedAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = db.Database.CurrentTransaction is null ? await db.Database.BeginTransactionAsync(cancellationToken) : null;
        if (!Postgres)
            await TakeWriteLockAsync([], now, cancellationToken);
        var lapsed = await ReleaseLapsedAsync(now, cancellationToken);
        if (transaction is not null)
            await transaction.CommitAsync(cancellationToken);
        return lapsed;
    }

    private async Task<int> ReleaseLapsedAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var keys = await db.Set<BudgetReservation>().AsNoTracking()
            .Where(r => r.State == BudgetReservationState.Reserved && r.ExpiresAt < now)
            .OrderBy(r => r.ExpiresAt)
            .Take(500)
            .Select(r => r.IdempotencyKey)
            .ToListAsync(cancellationToken);
        var count = 0;
        foreach (var key in keys)
        {
            if (await CloseAsync(key, BudgetReservationState.Lapsed, now, cancellationToken) is not { } lapsed)
                continue;
            count++;
            foreach (var budgetId in lapsed.Budgets.Order(StringComparer.Ordinal))
                await AdjustAsync(budgetId, -lapsed.Amount, 0m, now, cancellationToken);
        }

        return count;
    }

    /// <summary>Moves a held reservation to <paramref name="state"/>, once: of two closers only the one whose UPDATE matched gets the reservation back.</summary>
    private async Task<BudgetReservation?> CloseAsync(string key, string state, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var closed = await db.Set<BudgetReservation>()
            .Where(r => r.IdempotencyKey == key && r.State == BudgetReservationState.Reserved)
            .ExecuteUpdateAsync(set => set.SetProperty(r => r.State, state).SetProperty(r => r.ClosedAt, now), cancellationToken);
        return closed == 0 ? null : await db.Set<BudgetReservation>().AsNoTracking().SingleAsync(r => r.IdempotencyKey == key, cancellationToken);
    }

    private async Task<bool> TryReserveAsync(string budgetId, decimal estimate, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (Postgres)
        {
            return await db.Set<Budget>()
                .Where(b => b.Id == budgetId && b.Spent + b.Reserved + estimate <= b.LimitUsd)
                .ExecuteUpdateAsync(set => set.SetProperty(b => b.Reserved, b => b.Reserved + estimate).SetProperty(b => b.UpdatedAt, now), cancellationToken) == 1;
        }

        var budget = await db.Set<Budget>().AsNoTracking().SingleAsync(b => b.Id == budgetId, cancellationToken);
        if (budget.Spent + budget.Reserved + estimate > budget.LimitUsd)
            return false;
        await db.Set<Budget>().Where(b => b.Id == budgetId)
            .ExecuteUpdateAsync(set => set.SetProperty(b => b.Reserved, budget.Reserved + estimate).SetProperty(b => b.UpdatedAt, now), cancellationToken);
        return true;
    }

    private async Task AdjustAsync(string budgetId, decimal reserved, decimal spent, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (reserved == 0m && spent == 0m)
            return;
        if (Postgres)
        {
            await db.Set<Budget>().Where(b => b.Id == budgetId).ExecuteUpdateAsync(set => set
                .SetProperty(b => b.Reserved, b => b.Reserved + reserved)
                .SetProperty(b => b.Spent, b => b.Spent + spent)
                .SetProperty(b => b.UpdatedAt, now), cancellationToken);
            return;
        }

        var budget = await db.Set<Budget>().AsNoTracking().SingleOrDefaultAsync(b => b.Id == budgetId, cancellationToken);
        if (budget is null)
            return;
        await db.Set<Budget>().Where(b => b.Id == budgetId).ExecuteUpdateAsync(set => set
            .SetProperty(b => b.Reserved, budget.Reserved + reserved)
            .SetProperty(b => b.Spent, budget.Spent + spent)
            .SetProperty(b => b.UpdatedAt, now), cancellationToken);
    }

    private async Task<BudgetRefusal> PauseAsync(string budgetId, decimal estimate, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var budget = await db.Set<Budget>().AsNoTracking().SingleAsync(b => b.Id == budgetId, cancellationToken);
        var refusal = new BudgetRefusal(budgetId, budget.Kind, budget.LimitUsd, budget.Spent, budget.Reserved, estimate);
        var reason = refusal.Reason;
        await db.Set<Budget>().Where(b => b.Id == budgetId).ExecuteUpdateAsync(set => set
            .SetProperty(b => b.PausedAt, b => b.PausedAt ?? now)
            .SetProperty(b => b.PausedReason, reason)
            .SetProperty(b => b.UpdatedAt, now), cancellationToken);
        return refusal;
    }

    // SQLite starts a transaction deferred: the first write takes the write lock, after which every read here is current.
    // It must come before any read, or the transaction holds a snapshot another writer may have overtaken.
    private Task TakeWriteLockAsync(IReadOnlyCollection<string> budgetIds, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var ids = budgetIds.ToList();
        return db.Set<Budget>().Where(b => ids.Contains(b.Id)).ExecuteUpdateAsync(set => set.SetProperty(b => b.UpdatedAt, now), cancellationToken);
    }

    private async Task<decimal> SpentSoFarAsync(string budgetId, CancellationToken cancellationToken)
    {
        var parts = budgetId.Split(':');
        IQueryable<ModelUsage> usage;
        if (parts is [BudgetScope.RunKind, var workflow, var run] && Guid.TryParse(run, out var runId))
            usage = db.Set<ModelUsage>().Where(u => u.RunId == runId && u.Workflow == workflow);
        else if (parts is [BudgetScope.ProjectDayKind, var project, var day] && Guid.TryParse(project, out var projectId)
            && DateOnly.TryParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            usage = db.Set<ModelUsage>().Where(u => u.ProjectId == projectId && u.Day == date);
        else
            throw new ArgumentException($"'{budgetId}' is not a budget scope (see BudgetScope).", nameof(budgetId));

        // SQLite sums no decimal: summed as a double, rounded back to the 8 decimals costs are stored with.
        var sum = await usage.SumAsync(u => (double?)u.Cost, cancellationToken) ?? 0d;
        return Math.Round((decimal)sum, 8);
    }

    private static IEnumerable<string> ScopesOf(ModelUsage row) => BudgetScope.Of(row.Workflow, row.RunId, row.ProjectId, row.Day);

    /// <summary>
    /// The row of a scope that cannot have calls yet (a run being created), for the caller to add to its own unit of
    /// work: committed with the run and its start message, the budget exists before the run's first call reserves.
    /// </summary>
    public static Budget ForNewScope(string budgetId, decimal limitUsd, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitUsd);
        return New(budgetId, limitUsd, 0m, now);
    }

    private static Budget New(string budgetId, decimal limitUsd, decimal spent, DateTimeOffset now)
    {
        var parts = budgetId.Split(':');
        var budget = new Budget { Id = budgetId, Kind = parts[0], LimitUsd = limitUsd, Spent = spent, CreatedAt = now, UpdatedAt = now };
        if (parts is [BudgetScope.RunKind, var workflow, var run])
        {
            budget.Workflow = workflow;
            budget.RunId = Guid.Parse(run);
        }
        else if (parts is [BudgetScope.ProjectDayKind, var project, var day])
        {
            budget.ProjectId = Guid.Parse(project);
            budget.Day = DateOnly.ParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        }

        return budget;
    }
}
