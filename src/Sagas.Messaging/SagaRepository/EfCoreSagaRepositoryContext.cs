using MassTransit;
using MassTransit.Context;
using MassTransit.Saga;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Sagas.Messaging.Outbox;
using Sagas.Messaging.SagaHistory;

namespace Sagas.Messaging.SagaRepository;

/// <summary>
/// One delivery attempt's view of the saga table: MassTransit's saga pipe calls Load/Insert/Add, runs the state
/// machine, then Update/Save/Delete/Undo/Discard. Everything happens on one DbContext inside the transaction opened by
/// <see cref="EfCoreSagaRepositoryContextFactory{TSaga}"/>, which commits after the pipe returns.
/// </summary>
internal sealed class EfCoreSagaRepositoryContext<TSaga, TMessage> :
    ConsumeContextScope<TMessage>,
    SagaRepositoryContext<TSaga, TMessage>,
    IDisposable
    where TSaga : class, ISaga
    where TMessage : class
{
    private const string PreInsertSavepoint = "saga_pre_insert";

    private readonly DbContext _db;
    private readonly ISagaConsumeContextFactory<DbContext, TSaga> _factory;
    private readonly SagaTable<TSaga> _table;
    private readonly bool _lockRows;

    // Query-correlated events update several instances through this one context; EF's DbContext is not thread-safe.
    private readonly SemaphoreSlim _writing;

    private readonly SagaHistoryRecorder? _history;

    private readonly SagaOutbox? _outbox;

    /// <summary>
    /// In a group-commit batch an update and the outbox rows stay in the change tracker until the batch commits, so one
    /// UPDATE carries all of the batch's changes to the row. Inserts and deletes still write at once: a later event of the
    /// batch must find (or miss) the row in the database as it would in a transaction of its own.
    /// </summary>
    private readonly bool _deferUpdates;

    private PropertyValues? _beforeThisEvent;

    /// <summary>
    /// The recorder and the outbox ride on this scope as payloads, so the state machine finds this attempt's DbContext
    /// (and no other attempt's: each retry builds a new scope); the recorder shares the repository's write gate.
    /// </summary>
    public static EfCoreSagaRepositoryContext<TSaga, TMessage> Create(
        DbContext db,
        ConsumeContext<TMessage> consumeContext,
        ISagaConsumeContextFactory<DbContext, TSaga> factory,
        SagaTable<TSaga> table,
        bool lockRows,
        SagaHistorySettings? history,
        SagaOutbox? outbox,
        bool deferUpdates = false)
    {
        var writing = new SemaphoreSlim(1, 1);
        var recorder = history is null ? null : new SagaHistoryRecorder(db, writing, history);
        return new EfCoreSagaRepositoryContext<TSaga, TMessage>(db, consumeContext, factory, table, lockRows, writing, recorder, outbox, deferUpdates);
    }

    private EfCoreSagaRepositoryContext(
        DbContext db,
        ConsumeContext<TMessage> consumeContext,
        ISagaConsumeContextFactory<DbContext, TSaga> factory,
        SagaTable<TSaga> table,
        bool lockRows,
        SemaphoreSlim writing,
        SagaHistoryRecorder? recorder,
        SagaOutbox? outbox,
        bool deferUpdates)
        : base(consumeContext, Payloads(db, recorder, outbox))
    {
        _deferUpdates = deferUpdates;
        _db = db;
        _factory = factory;
        _table = table;
        _lockRows = lockRows;
        _writing = writing;
        _history = recorder;
        _outbox = outbox;
    }

    public Task<SagaConsumeContext<TSaga, TMessage>> Add(TSaga instance)
    {
        RequireCorrelationId(instance.CorrelationId);
        return _factory.CreateSagaConsumeContext(_db, this, instance, SagaConsumeContextMode.Add);
    }

    /// <summary>
    /// Pre-insert (an event with <c>InsertOnInitial</c>): null when the instance exists already. The INSERT runs under a
    /// savepoint: on PostgreSQL a duplicate key aborts the transaction, and rolling back to the savepoint keeps it usable
    /// for the Load that follows (which then waits for the other transaction's row).
    /// </summary>
    public async Task<SagaConsumeContext<TSaga, TMessage>> Insert(TSaga instance)
    {
        RequireCorrelationId(instance.CorrelationId);
        // An earlier event of a group-commit batch created or loaded it: it exists.
        if (Tracked(instance.CorrelationId) is not null)
            return null!;
        SetInitialVersion(instance);
        var transaction = _db.Database.CurrentTransaction!;
        await transaction.CreateSavepointAsync(PreInsertSavepoint, CancellationToken);
        var entry = _db.Set<TSaga>().Add(instance);
        try
        {
            await _db.SaveChangesAsync(CancellationToken);
            await transaction.ReleaseSavepointAsync(PreInsertSavepoint, CancellationToken);
        }
        catch (DbUpdateException exception) when (_table.IsDuplicateKey(exception))
        {
            await transaction.RollbackToSavepointAsync(PreInsertSavepoint, CancellationToken);
            entry.State = EntityState.Detached;
            return null!;
        }

        return await _factory.CreateSagaConsumeContext(_db, this, instance, SagaConsumeContextMode.Insert);
    }

    public async Task<SagaConsumeContext<TSaga, TMessage>> Load(Guid correlationId)
    {
        RequireCorrelationId(correlationId);
        var instance = await LoadInstance(correlationId);
        return instance is null
            ? null!
            : await _factory.CreateSagaConsumeContext(_db, this, instance, SagaConsumeContextMode.Load);
    }

    /// <summary>A new instance (Add mode) after the state machine ran on it.</summary>
    public async Task Save(SagaConsumeContext<TSaga> context)
    {
        await _writing.WaitAsync(CancellationToken);
        try
        {
            SetInitialVersion(context.Saga);
            _db.Set<TSaga>().Add(context.Saga);
            _outbox?.MoveInto(_db);
            await _db.SaveChangesAsync(CancellationToken);
        }
        catch (DbUpdateException exception) when (_table.IsDuplicateKey(exception))
        {
            // Two initiating events raced for one id and the other committed first. The event was applied to an
            // instance that must not exist, so nothing here can be salvaged: the retry applies it to the winner.
            throw new SagaConcurrencyException(
                $"Saga {typeof(TSaga).Name} instance {context.Saga.CorrelationId} was created concurrently while handling {typeof(TMessage).Name}; retry applies the message to it.",
                typeof(TSaga), typeof(TMessage), context.Saga.CorrelationId, exception);
        }
        finally
        {
            _writing.Release();
        }
    }

    public async Task Update(SagaConsumeContext<TSaga> context)
    {
        await _writing.WaitAsync(CancellationToken);
        try
        {
            if (context.Saga is ISagaVersion versioned)
                versioned.Version++;
            _outbox?.MoveInto(_db);
            if (!_deferUpdates)
                await _db.SaveChangesAsync(CancellationToken);
        }
        finally
        {
            _writing.Release();
        }
    }

    public async Task Delete(SagaConsumeContext<TSaga> context)
    {
        await _writing.WaitAsync(CancellationToken);
        try
        {
            _db.Set<TSaga>().Remove(context.Saga);
            _outbox?.MoveInto(_db);
            await _db.SaveChangesAsync(CancellationToken);
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Never persisted (created and finalized in one step, or the state machine threw).</summary>
    public Task Discard(SagaConsumeContext<TSaga> context) => Task.CompletedTask;

    /// <summary>A read-only event: whatever the behaviour changed on the instance is forgotten, nothing is written.</summary>
    public async Task Undo(SagaConsumeContext<TSaga> context)
    {
        await _writing.WaitAsync(CancellationToken);
        try
        {
            _history?.Forget(context.Saga.CorrelationId);
            RestoreLoadedValues(context);
        }
        finally
        {
            _writing.Release();
        }
    }

    private void RestoreLoadedValues(SagaConsumeContext<TSaga> context)
    {
        var entry = _db.Entry(context.Saga);
        if (_beforeThisEvent is not null)
        {
            // Later in a group-commit batch: the values loaded from the table lack the earlier events' changes.
            entry.CurrentValues.SetValues(_beforeThisEvent);
            return;
        }

        if (entry.State is EntityState.Modified or EntityState.Unchanged)
        {
            entry.CurrentValues.SetValues(entry.OriginalValues);
            entry.State = EntityState.Unchanged;
        }
    }

    public Task<SagaConsumeContext<TSaga, T>> CreateSagaConsumeContext<T>(ConsumeContext<T> consumeContext, TSaga instance, SagaConsumeContextMode mode)
        where T : class =>
        _factory.CreateSagaConsumeContext(_db, _history is null && _outbox is null ? consumeContext : new ConsumeContextScope<T>(consumeContext, Payloads(null, _history, _outbox)), instance, mode);

    /// <summary>
    /// The rows a state machine published without a write of its instance (a read-only event, an instance finalized
    /// in the step that created it) are saved here, before the commit.
    /// </summary>
    public async Task SaveOutboxAsync()
    {
        await _writing.WaitAsync(CancellationToken);
        try
        {
            if (_outbox?.MoveInto(_db) == true && !_deferUpdates)
                await _db.SaveChangesAsync(CancellationToken);
        }
        finally
        {
            _writing.Release();
        }
    }

    private static object[] Payloads(DbContext? db, SagaHistoryRecorder? recorder, SagaOutbox? outbox) =>
        new object?[] { db, recorder, outbox }.OfType<object>().ToArray();

    public void Dispose() => _writing.Dispose();

    private async Task<TSaga?> LoadInstance(Guid correlationId)
    {
        // In a group-commit batch an earlier event of the same transaction loaded (and locked) the row already.
        if (Tracked(correlationId) is { } tracked)
        {
            _beforeThisEvent = _db.Entry(tracked).CurrentValues.Clone();
            return tracked;
        }

        if (!_lockRows)
            return await _db.Set<TSaga>().AsTracking().FirstOrDefaultAsync(saga => saga.CorrelationId == correlationId, CancellationToken);

        // Not composed further: EF sends the statement as written, so the lock covers exactly this row.
        var rows = await _db.Set<TSaga>().FromSqlRaw(_table.LockOneSql, correlationId).AsTracking().ToListAsync(CancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    private TSaga? Tracked(Guid correlationId) =>
        _db.ChangeTracker.Entries<TSaga>()
            .FirstOrDefault(entry => entry.Entity.CorrelationId == correlationId && entry.State is EntityState.Unchanged or EntityState.Modified)?.Entity;

    private static void SetInitialVersion(TSaga instance)
    {
        if (instance is ISagaVersion { Version: 0 } versioned)
            versioned.Version = 1;
    }

    private static void RequireCorrelationId(Guid correlationId)
    {
        if (correlationId == Guid.Empty)
            throw EfCoreSagaRepositoryContextFactory<TSaga>.MissingCorrelationId(typeof(TMessage));
    }
}
