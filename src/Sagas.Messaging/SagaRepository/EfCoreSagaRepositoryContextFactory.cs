using System.Data;
using MassTransit;
using MassTransit.Middleware;
using MassTransit.Saga;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sagas.Messaging.Outbox;
using Sagas.Messaging.SagaHistory;
using Sagas.Persistence;

namespace Sagas.Messaging.SagaRepository;

/// <summary>
/// MassTransit's entry point into the repository. Each delivery attempt gets a DbContext from a fresh service scope and
/// one transaction (READ COMMITTED on PostgreSQL) that is committed only after the state machine and every
/// Update/Save/Delete succeeded; any exception rolls everything back and is left to the endpoint's retry policy.
/// </summary>
public sealed class EfCoreSagaRepositoryContextFactory<TSaga>(
    IServiceProvider services,
    IServiceScopeFactory scopes,
    EfCoreSagaRepositorySettings<TSaga> settings,
    ISagaConsumeContextFactory<DbContext, TSaga> consumeContextFactory) :
    ISagaRepositoryContextFactory<TSaga>,
    IQuerySagaRepositoryContextFactory<TSaga>,
    ILoadSagaRepositoryContextFactory<TSaga>
    where TSaga : class, ISaga
{
    private readonly Lazy<SagaHistorySettings?> _history = new(() => ObserveHistory(services, scopes, settings.DbContextType));

    private readonly SagaGroupCommit? _groupCommit = settings.GroupCommitter;

    public Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<TSaga, T>> next)
        where T : class
    {
        if (context.CorrelationId is not { } correlationId || correlationId == Guid.Empty)
            throw MissingCorrelationId(typeof(T));

        return _groupCommit is null
            ? SendAlone(context, next)
            : _groupCommit.RunAsync(
                correlationId,
                context.MessageId,
                () => SendAlone(context, next),
                batch => SendInBatch(batch, context, next),
                () => OpenBatchAsync(context.CancellationToken),
                CommitBatchAsync);
    }

    private async Task SendAlone<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<TSaga, T>> next)
        where T : class
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = ResolveDbContext(scope);
        var table = SagaTable<TSaga>.For(db, typeof(T));
        await using var transaction = await BeginTransaction(db, context.CancellationToken);
        var outbox = OutboxFor(scope, db);
        using (var repositoryContext = EfCoreSagaRepositoryContext<TSaga, T>.Create(db, context, consumeContextFactory, table, LockRows(db, table, typeof(T)), HistoryFor(db), outbox))
        {
            await next.Send(repositoryContext);
            await repositoryContext.SaveOutboxAsync();
        }

        await transaction.CommitAsync(context.CancellationToken);
        WakeDispatcher(scope, outbox);
    }

    /// <summary>One event inside a group-commit batch: the batch's DbContext, transaction and outbox; the batch commits.</summary>
    private async Task SendInBatch<T>(GroupCommitBatch batch, ConsumeContext<T> context, IPipe<SagaRepositoryContext<TSaga, T>> next)
        where T : class
    {
        var table = SagaTable<TSaga>.For(batch.Db, typeof(T));
        using var repositoryContext = EfCoreSagaRepositoryContext<TSaga, T>.Create(batch.Db, context, consumeContextFactory, table, lockRows: true, HistoryFor(batch.Db), batch.Outbox, deferUpdates: true);
        await next.Send(repositoryContext);
        await repositoryContext.SaveOutboxAsync();
    }

    /// <summary>Null off PostgreSQL: without row locks a batch could not keep other processes' writers out.</summary>
    private async Task<GroupCommitBatch?> OpenBatchAsync(CancellationToken cancellationToken)
    {
        var scope = scopes.CreateAsyncScope();
        var db = ResolveDbContext(scope);
        if (!db.Database.IsNpgsql())
        {
            await scope.DisposeAsync();
            return null;
        }

        await BeginTransaction(db, cancellationToken);
        return new GroupCommitBatch(scope, db, OutboxFor(scope, db));
    }

    private static async Task CommitBatchAsync(GroupCommitBatch batch)
    {
        await batch.Db.SaveChangesAsync(CancellationToken.None);
        await batch.Db.Database.CommitTransactionAsync(CancellationToken.None);
        WakeDispatcher(batch.Scope, batch.Outbox);
    }

    public async Task SendQuery<T>(ConsumeContext<T> context, ISagaQuery<TSaga> query, IPipe<SagaRepositoryQueryContext<TSaga, T>> next)
        where T : class
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = ResolveDbContext(scope);
        var table = SagaTable<TSaga>.For(db, typeof(T));
        var lockRows = LockRows(db, table, typeof(T));
        await using var transaction = await BeginTransaction(db, context.CancellationToken);

        List<TSaga> instances;
        if (lockRows)
        {
            // Find the candidates without locks, lock them in key order, then keep those that still match: a row may
            // have changed between the two statements.
            var ids = await db.Set<TSaga>().AsNoTracking().Where(query.FilterExpression).Select(saga => saga.CorrelationId).ToArrayAsync(context.CancellationToken);
            var locked = ids.Length == 0
                ? []
                : await db.Set<TSaga>().FromSqlRaw(table.LockManySql, ids).AsTracking().ToListAsync(context.CancellationToken);
            instances = locked.Where(query.GetFilter()).ToList();
        }
        else
        {
            instances = await db.Set<TSaga>().AsTracking().Where(query.FilterExpression).ToListAsync(context.CancellationToken);
        }

        var outbox = OutboxFor(scope, db);
        using (var repositoryContext = EfCoreSagaRepositoryContext<TSaga, T>.Create(db, context, consumeContextFactory, table, lockRows, HistoryFor(db), outbox))
        {
            await next.Send(new LoadedSagaRepositoryQueryContext<TSaga, T>(repositoryContext, instances));
            await repositoryContext.SaveOutboxAsync();
        }

        await transaction.CommitAsync(context.CancellationToken);
        WakeDispatcher(scope, outbox);
    }

    public Task<T> Execute<T>(Func<LoadSagaRepositoryContext<TSaga>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class =>
        ExecuteReadOnly(context => asyncMethod(context), cancellationToken);

    public Task<T> Execute<T>(Func<QuerySagaRepositoryContext<TSaga>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class =>
        ExecuteReadOnly(context => asyncMethod(context), cancellationToken);

    public void Probe(ProbeContext context)
    {
        context.Add("persistence", "entity-framework-core");
        context.Add("dbContext", settings.DbContextType.Name);
        context.Add("concurrencyMode", settings.ConcurrencyMode.ToString());
    }

    internal static SagaException MissingCorrelationId(Type messageType) =>
        new($"Saga {typeof(TSaga).Name} cannot handle {messageType.Name}: the message carries no correlation id (Guid.Empty). " +
            "Every message of a saga must carry the id of the instance it belongs to.",
            typeof(TSaga), messageType);

    private async Task<T> ExecuteReadOnly<T>(Func<EfCoreSagaReadContext<TSaga>, Task<T>> asyncMethod, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = ResolveDbContext(scope);
        return await asyncMethod(new EfCoreSagaReadContext<TSaga>(db, cancellationToken));
    }

    /// <summary>
    /// Connects the run-history observer to the saga's state machine, the first time a message reaches this
    /// repository (so before any event runs). Plain sagas (no state machine) and history switched off keep none.
    /// </summary>
    private static SagaHistorySettings? ObserveHistory(IServiceProvider services, IServiceScopeFactory scopes, Type dbContextType)
    {
        var options = services.GetService<SagaHistoryOptions>() ?? SagaHistoryOptions.Default;
        if (!options.Enabled || !typeof(SagaStateMachineInstance).IsAssignableFrom(typeof(TSaga)))
            return null;
        var connect = typeof(EfCoreSagaRepositoryContextFactory<TSaga>)
            .GetMethod(nameof(ConnectObserver), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(typeof(TSaga));
        if (!(bool)connect.Invoke(null, [services])!)
            return null;
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger("Sagas.Messaging.SagaHistory") ?? NullLogger.Instance;
        return new SagaHistorySettings(options, services.GetService<TimeProvider>() ?? TimeProvider.System, scopes, dbContextType, logger);
    }

    /// <summary>A DbContext whose model has no history table (a test's own model) keeps no history.</summary>
    private SagaHistorySettings? HistoryFor(DbContext db) =>
        _history.Value is { } history && db.Model.FindEntityType(typeof(SagaHistoryEntry)) is not null ? history : null;

    /// <summary>
    /// The attempt's outbox, when the host has the outbox and the DbContext maps its table; otherwise the state machine's
    /// outbox publishes go through the consume context (a test's own model).
    /// </summary>
    private static SagaOutbox? OutboxFor(AsyncServiceScope scope, DbContext db) =>
        scope.ServiceProvider.GetService<OutboxMessageTypes>() is { } types && db.Model.FindEntityType(typeof(OutboxMessage)) is not null
            ? new SagaOutbox(types, scope.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System)
            : null;

    /// <summary>The rows are committed: this process's dispatcher publishes them now instead of at its next poll.</summary>
    private static void WakeDispatcher(AsyncServiceScope scope, SagaOutbox? outbox)
    {
        if (outbox is { Wrote: true })
            scope.ServiceProvider.GetService<OutboxSignal>()?.Notify();
    }

    private static bool ConnectObserver<TInstance>(IServiceProvider services)
        where TInstance : class, SagaStateMachineInstance
    {
        if (services.GetService<SagaStateMachine<TInstance>>() is not { } machine)
            return false;
        SagaHistoryObserver<TInstance>.ConnectOnce(machine);
        return true;
    }

    private DbContext ResolveDbContext(AsyncServiceScope scope) =>
        (DbContext)scope.ServiceProvider.GetRequiredService(settings.DbContextType);

    private bool LockRows(DbContext db, SagaTable<TSaga> table, Type messageType)
    {
        if (settings.ConcurrencyMode == SagaConcurrencyMode.Pessimistic && db.Database.IsNpgsql())
            return true;

        // SQLite has no row locks, so it always runs optimistic; its transactions begin IMMEDIATE, taking the database's
        // single write lock up front, which already serializes read-modify-write. The version token is checked when mapped.
        if (!table.HasVersionToken && !db.Database.IsSqlite())
        {
            throw new SagaException(
                $"Saga {typeof(TSaga).Name} runs with optimistic concurrency but has no version token, so concurrent " +
                $"{messageType.Name} messages could overwrite each other. Implement ISagaVersion on {typeof(TSaga).Name} " +
                $"and map it with SagaStateMap<{typeof(TSaga).Name}> (Version becomes the concurrency token).",
                typeof(TSaga), messageType);
        }

        return false;
    }

    private static Task<IDbContextTransaction> BeginTransaction(DbContext db, CancellationToken cancellationToken)
    {
        // A failed statement fails the whole attempt, so EF's savepoint around every SaveChanges would only add two
        // round trips per event; the one place that recovers from a failed INSERT sets its own savepoint.
        db.Database.AutoSavepointsEnabled = false;
        return db.Database.IsNpgsql()
            ? db.Database.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken)
            : db.Database.BeginTransactionAsync(cancellationToken);
    }
}

/// <summary>Loads and queries for MassTransit's saga test harness and <c>IQuerySagaRepository</c>: no tracking, no locks.</summary>
internal sealed class EfCoreSagaReadContext<TSaga>(DbContext db, CancellationToken cancellationToken) :
    BasePipeContext(cancellationToken),
    LoadSagaRepositoryContext<TSaga>,
    QuerySagaRepositoryContext<TSaga>
    where TSaga : class, ISaga
{
    public async Task<TSaga> Load(Guid correlationId) =>
        (await db.Set<TSaga>().AsNoTracking().FirstOrDefaultAsync(saga => saga.CorrelationId == correlationId, CancellationToken))!;

    public async Task<SagaRepositoryQueryContext<TSaga>> Query(ISagaQuery<TSaga> query, CancellationToken cancellationToken)
    {
        var ids = await db.Set<TSaga>().AsNoTracking().Where(query.FilterExpression).Select(saga => saga.CorrelationId).ToListAsync(cancellationToken);
        return new DefaultSagaRepositoryQueryContext<TSaga>(this, ids);
    }
}
