using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Persistence;
using Sagas.Persistence.Retention;

namespace Sagas.Modules.Runs;

/// <summary>
/// One bulk action (<c>POST /api/runs/cancel</c>, <c>POST /api/system/failed-messages/redeliver</c>): who asked, when,
/// for what, and how far it got. Its id is the caller's operation id, so the same call made again finds this row and
/// starts nothing new. The runner walks what it covers in its kind's order from a cursor kept here, one batch per
/// transaction, so it resumes where it stopped and never holds more than a batch of ids. The API host cannot add to
/// the one database model, so the table lives here beside the run descriptions it works over.
/// </summary>
public class BulkOperation
{
    public const string TableName = "bulk_operations";

    public Guid Id { get; set; }

    /// <summary><see cref="BulkOperationKind"/>.</summary>
    public string Kind { get; set; } = BulkOperationKind.Cancel;

    /// <summary>The caller as the API authenticated it: the API key's name, or <c>local-developer</c> on the embedded default.</summary>
    public string RequestedBy { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The request's filter, group or id list as JSON (what the runner applies, and what an operator reads back).</summary>
    public string Filter { get; set; } = "{}";

    public string? Reason { get; set; }

    /// <summary>Items (runs, failed messages) that matched when the call was accepted.</summary>
    public int Total { get; set; }

    /// <summary>Items the runner has taken up: runs it sent the workflow's command for, messages it redelivered or skipped.</summary>
    public int Done { get; set; }

    /// <summary>Of <see cref="Done"/>, items found already handled by someone else (a message another redelivery had sent back).</summary>
    public int Skipped { get; set; }

    /// <summary><see cref="BulkOperationStatus"/>.</summary>
    public string Status { get; set; } = BulkOperationStatus.Running;

    public DateTimeOffset? FinishedAt { get; set; }

    public string? Error { get; set; }

    /// <summary>
    /// Where the runner is, in its kind's order: for a cancel the index of the workflow (in the filter's order) and the
    /// last run done in it (created at, id); for a redelivery the last failed message taken up (faulted at, id).
    /// </summary>
    public int CursorWorkflow { get; set; }

    public DateTimeOffset? CursorCreatedAt { get; set; }

    public Guid? CursorId { get; set; }

    /// <summary>Until when one API process works on it; another takes over once it lapses (that process stopped).</summary>
    public DateTimeOffset? LeaseUntil { get; set; }
}

public static class BulkOperationKind
{
    public const string Cancel = "cancel";
    public const string Redeliver = "redeliver";
}

public static class BulkOperationStatus
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
}

internal sealed class BulkOperationMapping : IEntityTypeConfiguration<BulkOperation>
{
    public void Configure(EntityTypeBuilder<BulkOperation> builder)
    {
        builder.ToTable(BulkOperation.TableName);
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).ValueGeneratedNever();
        builder.Property(x => x.Kind).HasMaxLength(16);
        builder.Property(x => x.RequestedBy).HasMaxLength(200);
        builder.Property(x => x.Status).HasMaxLength(16);
        builder.Property(x => x.Reason).HasMaxLength(1000);
        builder.Property(x => x.Error).HasMaxLength(1000);
        // The runner looks for running operations; the list of operations reads newest first.
        builder.HasIndex(x => new { x.Status, x.CreatedAt });
    }
}

/// <summary>
/// Rule <c>bulk-operations</c>: operations that finished (completed or failed) before the period. A running one is
/// never deleted, however old: it is still someone's record of what is being done.
/// </summary>
public sealed class BulkOperationsRetention(SagasDbContext db) : IRetentionRule
{
    public const string Name = "bulk-operations";

    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken) =>
        RetentionBatchResult.Rows(await db.Set<BulkOperation>()
            .Where(o => o.Status != BulkOperationStatus.Running && o.FinishedAt != null && o.FinishedAt < batch.Cutoff)
            .OrderBy(o => o.FinishedAt)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken));
}

public static class BulkOperationRetentionRegistration
{
    /// <summary>
    /// Declares the retention of <c>bulk_operations</c>. Every process declares it (the scheduler role, which runs
    /// retention, may be in a worker that runs no bulk operation), which is why the hosting composition calls this.
    /// </summary>
    public static IServiceCollection AddBulkOperationsRetention(this IServiceCollection services) =>
        services.AddRetentionRule<BulkOperationsRetention>(
            BulkOperationsRetention.Name, 90, "bulk_operations rows (who cancelled or redelivered what, and when) that finished before the period; running ones are kept");
}
