namespace Sagas.Persistence.Retention;

/// <summary>
/// One kind of data that is deleted once it is older than its retention period. Each owner (a workflow, the
/// messaging infrastructure) registers its own rules with <see cref="RetentionRegistration.AddRetentionRule{TRule}"/>;
/// the retention run (<c>Sagas.Messaging</c>) knows none of them by name. A rule is resolved in a scope of its own
/// for every batch, so each batch has a fresh <see cref="SagasDbContext"/> and commits on its own.
/// </summary>
public interface IRetentionRule
{
    /// <summary>
    /// Deletes at most <see cref="RetentionBatch.Size"/> items that expired before <see cref="RetentionBatch.Cutoff"/>,
    /// in short statements of its own (never one long transaction), and never anything of work still in progress.
    /// Idempotent: two runs racing over the same items delete each once and report no error.
    /// </summary>
    Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken);
}

/// <param name="Cutoff">Items that ended (or were made, for kinds without an end) before this instant are due.</param>
/// <param name="Size">The most items one batch examines.</param>
public sealed record RetentionBatch(DateTimeOffset Cutoff, int Size);

/// <param name="Examined">Items this batch took up (deleted, or marked done when nothing of them was left to delete).
/// Fewer than the batch size means nothing due is left.</param>
/// <param name="Deleted">Rows or blobs deleted, as the <c>sagas.retention.deleted</c> metric counts them.</param>
public sealed record RetentionBatchResult(int Examined, int Deleted)
{
    public static readonly RetentionBatchResult None = new(0, 0);

    /// <summary>A batch of rows deleted by key: each row examined is a row deleted.</summary>
    public static RetentionBatchResult Rows(int deleted) => new(deleted, deleted);
}

/// <summary>A declared rule: its name (configuration key and metric tag), default period and what it deletes.</summary>
public sealed record RetentionRuleDeclaration(string Name, int DefaultDays, string Description, Type RuleType);
