using Microsoft.EntityFrameworkCore;
using Sagas.Persistence;

namespace Sagas.Messaging.SagaRepository;

/// <summary>Options of <see cref="EfCoreSagaRepositoryRegistrationExtensions.EfCoreRepository{TSaga}"/>.</summary>
public sealed class EfCoreSagaRepositoryConfigurator
{
    /// <summary>Pessimistic by default (PostgreSQL); SQLite always runs optimistic.</summary>
    public SagaConcurrencyMode ConcurrencyMode { get; set; } = SagaConcurrencyMode.Pessimistic;

    /// <summary>
    /// Events for one instance that arrive while a transaction of that instance is open in this process are applied
    /// together in the next transaction, one after the other on the same loaded row, and acknowledged when it commits.
    /// One hot instance then costs a transaction per batch rather than per event. Pessimistic on PostgreSQL only
    /// (elsewhere each event keeps its own transaction); pointless with a partitioner on the correlation id, which lets
    /// one event per instance through at a time. Off by default.
    /// </summary>
    public bool GroupCommit { get; set; }

    internal Type DbContextType { get; private set; } = typeof(SagasDbContext);

    /// <summary>
    /// The registered DbContext that maps the saga state (default <see cref="SagasDbContext"/>). One is resolved from a
    /// fresh service scope for every delivery attempt, so a retry never sees the change tracker of a failed attempt.
    /// </summary>
    public EfCoreSagaRepositoryConfigurator UseDbContext<TDbContext>()
        where TDbContext : DbContext
    {
        DbContextType = typeof(TDbContext);
        return this;
    }
}

/// <summary>What one saga type was registered with; a singleton per saga type.</summary>
public sealed record EfCoreSagaRepositorySettings<TSaga>(Type DbContextType, SagaConcurrencyMode ConcurrencyMode, bool GroupCommit = false)
{
    /// <summary>
    /// Held here, not in the repository context factory: MassTransit resolves that factory per message scope, and a
    /// coordinator per message would never see a second event of the same instance waiting.
    /// </summary>
    internal SagaGroupCommit? GroupCommitter { get; } = GroupCommit && ConcurrencyMode == SagaConcurrencyMode.Pessimistic ? new SagaGroupCommit() : null;
}
