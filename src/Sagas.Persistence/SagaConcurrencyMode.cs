namespace Sagas.Persistence;

/// <summary>How the EF Core saga repository keeps concurrent events for one instance from overwriting each other.</summary>
public enum SagaConcurrencyMode
{
    /// <summary>
    /// The row is read with <c>SELECT … FOR UPDATE</c> under READ COMMITTED: a second event for the same instance waits
    /// for the first to commit, then sees its result. PostgreSQL only; other providers fall back to <see cref="Optimistic"/>.
    /// </summary>
    Pessimistic,

    /// <summary>
    /// The row is read without a lock and written with <c>WHERE version = @loaded</c> (the state implements
    /// <see cref="MassTransit.ISagaVersion"/>); a lost race throws <see cref="Microsoft.EntityFrameworkCore.DbUpdateConcurrencyException"/>
    /// and the endpoint's retry runs the event again on fresh state.
    /// </summary>
    Optimistic,
}
