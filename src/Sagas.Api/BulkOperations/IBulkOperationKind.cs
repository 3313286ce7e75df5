using Sagas.Modules.Runs;

namespace Sagas.Api.BulkOperations;

/// <summary>
/// One kind of bulk operation (<see cref="BulkOperation.Kind"/>): what a batch of it does. The runner owns the lease,
/// the scope and the save; a kind reads the operation's stored scope and cursor, does one batch and moves the cursor
/// and the counts on the tracked <see cref="BulkOperation"/>, which the runner then commits.
/// </summary>
public interface IBulkOperationKind
{
    /// <summary>The value of <see cref="BulkOperation.Kind"/> this kind runs.</summary>
    string Kind { get; }

    /// <param name="services">The batch's scope; its <c>SagasDbContext</c> tracks <paramref name="operation"/>.</param>
    Task<BulkBatchOutcome> RunBatchAsync(BulkOperation operation, IServiceProvider services, int batchSize, CancellationToken cancellationToken);
}

/// <summary>What one batch came to.</summary>
public sealed record BulkBatchOutcome(BulkBatchState State, string? Error = null)
{
    public static readonly BulkBatchOutcome More = new(BulkBatchState.More);
    public static readonly BulkBatchOutcome Finished = new(BulkBatchState.Finished);

    /// <summary>The operation cannot go on at all (its stored scope no longer makes sense): it ends as failed.</summary>
    public static BulkBatchOutcome Failed(string error) => new(BulkBatchState.Failed, error);

    /// <summary>Part of the batch was done and saved; the rest waits for the lease to lapse and is tried again then.</summary>
    public static BulkBatchOutcome Stalled(string error) => new(BulkBatchState.Stalled, error);
}

public enum BulkBatchState
{
    More,
    Finished,
    Failed,
    Stalled,
}
