using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Sagas.Messaging.Outbox;

/// <summary>
/// One delivery attempt's outbox for a saga on the EF Core repository, carried as a payload of the saga's consume
/// context. What the state machine publishes through it becomes outbox rows in the attempt's own DbContext, written by
/// the repository's SaveChanges in the saga row's transaction; <see cref="OutboxDispatcher"/> publishes them after the
/// commit. So a broker that goes away between the commit and the publish, or a process that dies there, delays the
/// event instead of losing it (MassTransit's in-memory outbox publishes after the commit and forgets on failure, and
/// the redelivered message then finds the saga already moved on).
/// </summary>
public sealed class SagaOutbox
{
    private readonly OutboxMessageTypes _types;
    private readonly TimeProvider _clock;

    // The state machine may run several instances of a query-correlated event at once; the DbContext is not
    // thread-safe, so rows wait here until the repository writes, under its own gate.
    private readonly List<OutboxMessage> _pending = [];

    internal SagaOutbox(OutboxMessageTypes types, TimeProvider clock)
    {
        _types = types;
        _clock = clock;
    }

    /// <summary>Rows were written in this attempt: the dispatcher is worth waking once it commits.</summary>
    internal bool Wrote { get; private set; }

    /// <summary>Publishes <paramref name="message"/> when the saga's transaction commits, not before and not on rollback.</summary>
    public void Publish<T>(T message)
        where T : class
    {
        var row = _types.Row(message, _clock);
        lock (_pending)
            _pending.Add(row);
    }

    /// <summary>Moves the rows published so far into <paramref name="db"/>; the caller saves them.</summary>
    internal bool MoveInto(DbContext db)
    {
        lock (_pending)
        {
            if (_pending.Count == 0)
                return false;
            db.Set<OutboxMessage>().AddRange(_pending);
            _pending.Clear();
        }

        Wrote = true;
        return true;
    }
}

/// <summary>How a saga's state machine publishes: through its repository's <see cref="SagaOutbox"/> when it has one.</summary>
public static class SagaOutboxExtensions
{
    /// <summary>
    /// Publishes in the saga's transaction (see <see cref="SagaOutbox"/>). A saga on a repository without the outbox
    /// table (the in-memory repository of the state machine specs) publishes through the consume context instead.
    /// </summary>
    public static Task PublishThroughOutbox<T>(this ConsumeContext context, T message)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.TryGetPayload(out SagaOutbox? outbox))
            return context.Publish(message, context.CancellationToken);
        outbox.Publish(message);
        return Task.CompletedTask;
    }

    /// <inheritdoc cref="PublishThroughOutbox{T}(ConsumeContext, T)"/>
    public static EventActivityBinder<TSaga, TMessage> PublishThroughOutbox<TSaga, TMessage, T>(
        this EventActivityBinder<TSaga, TMessage> binder,
        Func<BehaviorContext<TSaga, TMessage>, T> message)
        where TSaga : class, SagaStateMachineInstance
        where TMessage : class
        where T : class
    {
        ArgumentNullException.ThrowIfNull(binder);
        ArgumentNullException.ThrowIfNull(message);
        return binder.ThenAsync(context => context.PublishThroughOutbox(message(context)));
    }
}
