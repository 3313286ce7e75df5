using Microsoft.EntityFrameworkCore;
using Sagas.Persistence;
using Sagas.Persistence.Retention;

namespace Sagas.Modules.Usage.Budgets;

/// <summary>
/// Rule <c>budgets</c>: budgets untouched for the period (their run ended, their day passed) and closed reservations
/// older than it. A held reservation is never deleted here; it lapses first (and a lapse touches its budgets).
/// </summary>
public sealed class BudgetRetention(SagasDbContext db) : IRetentionRule
{
    public const string Name = "budgets";

    public const int DefaultDays = 90;

    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken)
    {
        var cutoff = batch.Cutoff;
        var reservations = await db.Set<BudgetReservation>()
            .Where(r => r.State != BudgetReservationState.Reserved && r.ReservedAt < cutoff)
            .OrderBy(r => r.ReservedAt)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken);
        var budgets = await db.Set<Budget>()
            .Where(b => b.UpdatedAt < cutoff)
            .OrderBy(b => b.UpdatedAt)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken);
        return RetentionBatchResult.Rows(reservations + budgets);
    }
}
