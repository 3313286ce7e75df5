using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.Persistence;

namespace Sagas.Messaging.SagaHistory;

/// <summary>
/// One delivery attempt's history writer, carried as a payload of the saga's consume context. Event rows go into the
/// attempt's own DbContext, so the repository's SaveChanges writes them with the saga row and the attempt's rollback
/// forgets them; fault rows are written on a connection of their own, since the attempt that faulted rolls back.
/// </summary>
internal sealed class SagaHistoryRecorder(DbContext db, SemaphoreSlim writing, SagaHistorySettings settings)
{
    private readonly SagaHistoryOptions options = settings.Options;
    private readonly TimeProvider clock = settings.Clock;

    private readonly Dictionary<Guid, InstanceLog> _instances = [];

    /// <summary>
    /// Opens the entry of an event about to run; events raised from inside another (composite events) nest. Nothing is
    /// opened when this message already left this event in the instance's history: a redelivery of a message the saga
    /// handled adds no second row.
    /// </summary>
    public async Task BeginAsync(
        string saga, Guid correlationId, Guid? messageId, string eventName, string? messageType, string? stateBefore, CancellationToken cancellationToken)
    {
        // Query-correlated events run several instances over this one DbContext; the repository's writes take the same gate.
        await writing.WaitAsync(cancellationToken);
        try
        {
            await Begin(saga, correlationId, messageId, eventName, messageType, stateBefore, cancellationToken);
        }
        finally
        {
            writing.Release();
        }
    }

    private async Task Begin(
        string saga, Guid correlationId, Guid? messageId, string eventName, string? messageType, string? stateBefore, CancellationToken cancellationToken)
    {
        if (!_instances.TryGetValue(correlationId, out var log))
        {
            log = await LoadAsync(correlationId, messageId, cancellationToken);
            _instances[correlationId] = log;
        }

        if (messageId is not null && !log.Recorded.Add(eventName))
        {
            log.Open.Push(null);
            return;
        }

        var entry = new SagaHistoryEntry
        {
            Saga = Clip(saga, SagaHistoryEntry.MaxNameLength)!,
            CorrelationId = correlationId,
            Sequence = ++log.LastSequence,
            Kind = SagaHistoryKind.Event,
            Event = Clip(eventName, SagaHistoryEntry.MaxNameLength)!,
            MessageType = Clip(messageType, SagaHistoryEntry.MaxMessageTypeLength),
            MessageId = messageId,
            StateBefore = Clip(stateBefore, SagaHistoryEntry.MaxNameLength),
            At = clock.GetUtcNow(),
        };
        log.Pending.Add(entry);
        log.Open.Push(entry);
    }

    /// <summary>The event ran: its entry joins the attempt's DbContext, and the middle of a long history is trimmed.</summary>
    public async Task CompleteAsync(Guid correlationId, string? stateAfter, (string Type, string Message)? fault, CancellationToken cancellationToken)
    {
        await writing.WaitAsync(cancellationToken);
        try
        {
            await Complete(correlationId, stateAfter, fault, cancellationToken);
        }
        finally
        {
            writing.Release();
        }
    }

    private async Task Complete(Guid correlationId, string? stateAfter, (string Type, string Message)? fault, CancellationToken cancellationToken)
    {
        if (Close(correlationId) is not { } entry)
            return;
        entry.StateAfter = Clip(stateAfter, SagaHistoryEntry.MaxNameLength);
        if (fault is { } f)
        {
            entry.FaultType = Clip(f.Type, SagaHistoryEntry.MaxMessageTypeLength);
            entry.FaultMessage = Clip(f.Message, SagaHistoryEntry.MaxFaultMessageLength);
        }

        db.Add(entry);

        var keepUpTo = entry.Sequence!.Value - options.KeepLast;
        if (keepUpTo > options.KeepFirst)
        {
            // Deletes the one entry that just left the last-M window (or several, after KeepLast was lowered).
            var first = options.KeepFirst;
            await db.Set<SagaHistoryEntry>()
                .Where(e => e.CorrelationId == correlationId && e.Kind == SagaHistoryKind.Event && e.Sequence > first && e.Sequence <= keepUpTo)
                .ExecuteDeleteAsync(cancellationToken);
        }
    }

    /// <summary>A read-only event: the repository writes nothing for the instance, so its history does not move either.</summary>
    public void Forget(Guid correlationId)
    {
        // Called by the repository inside its own write gate.
        if (!_instances.TryGetValue(correlationId, out var log))
            return;
        foreach (var entry in log.Pending)
        {
            var tracked = db.Entry(entry);
            if (tracked.State == EntityState.Added)
                tracked.State = EntityState.Detached;
        }

        _instances.Remove(correlationId);
    }

    /// <summary>
    /// The event threw: the attempt rolls back, so the fault is recorded in a transaction of its own, once per message
    /// (a retry of the same message counts an attempt on the same row).
    /// </summary>
    public async Task RecordFaultAsync(Guid correlationId, Exception exception)
    {
        SagaHistoryEntry? entry;
        await writing.WaitAsync();
        try
        {
            entry = Close(correlationId);
        }
        finally
        {
            writing.Release();
        }

        if (entry is null)
            return;
        // The state machine wraps what a behaviour threw; the operator wants the behaviour's own exception.
        if (exception is MassTransit.EventExecutionException { InnerException: { } inner })
            exception = inner;
        var faultType = Clip(exception.GetType().Name, SagaHistoryEntry.MaxMessageTypeLength);
        var faultMessage = Clip(exception.Message, SagaHistoryEntry.MaxFaultMessageLength);
        try
        {
            await using var scope = settings.Scopes.CreateAsyncScope();
            var faults = (DbContext)scope.ServiceProvider.GetRequiredService(settings.DbContextType);
            if (await CountAttemptAsync(faults, entry, faultType, faultMessage) > 0)
                return;

            faults.Add(new SagaHistoryEntry
            {
                Saga = entry.Saga,
                CorrelationId = entry.CorrelationId,
                Kind = SagaHistoryKind.Fault,
                Event = entry.Event,
                MessageType = entry.MessageType,
                MessageId = entry.MessageId,
                StateBefore = entry.StateBefore,
                At = entry.At,
                FaultType = faultType,
                FaultMessage = faultMessage,
                Attempts = 1,
            });
            try
            {
                await faults.SaveChangesAsync();
            }
            catch (DbUpdateException duplicate) when (DatabaseErrors.IsDuplicateKey(duplicate) && entry.MessageId is not null)
            {
                // Another attempt of the same message recorded it first.
                faults.ChangeTracker.Clear();
                await CountAttemptAsync(faults, entry, faultType, faultMessage);
            }
        }
        catch (Exception recording) when (recording is not OperationCanceledException)
        {
            // The fault itself is what matters to the endpoint (retry, redelivery, error queue): a history row that
            // could not be written must not replace it.
            settings.Logger.LogWarning(recording, "Could not record the fault of {Event} for saga {Saga} {CorrelationId} in its history", entry.Event, entry.Saga, entry.CorrelationId);
        }
    }

    private SagaHistoryEntry? Close(Guid correlationId) =>
        _instances.TryGetValue(correlationId, out var log) && log.Open.Count > 0 ? log.Open.Pop() : null;

    private Task<int> CountAttemptAsync(DbContext faults, SagaHistoryEntry entry, string? faultType, string? faultMessage)
    {
        if (entry.MessageId is not { } messageId)
            return Task.FromResult(0);
        var at = clock.GetUtcNow();
        return faults.Set<SagaHistoryEntry>()
            .Where(e => e.CorrelationId == entry.CorrelationId && e.MessageId == messageId && e.Kind == SagaHistoryKind.Fault && e.Event == entry.Event)
            .ExecuteUpdateAsync(set => set
                .SetProperty(e => e.Attempts, e => e.Attempts + 1)
                .SetProperty(e => e.At, at)
                .SetProperty(e => e.FaultType, faultType)
                .SetProperty(e => e.FaultMessage, faultMessage));
    }

    private async Task<InstanceLog> LoadAsync(Guid correlationId, Guid? messageId, CancellationToken cancellationToken)
    {
        // Runs after the repository loaded (and, pessimistic, locked) the saga row, so no other attempt on this
        // instance is between these reads and this attempt's commit; optimistic attempts that race are settled by
        // the unique indexes and the saga's version check, whichever fails first.
        // One round trip for both answers (every saga event of every workflow pays it): the instance's last entry and
        // the entries this message already left, read on the (correlation_id, sequence) and (correlation_id,
        // message_id, …) indexes.
        var events = db.Set<SagaHistoryEntry>().AsNoTracking().Where(e => e.CorrelationId == correlationId && e.Kind == SagaHistoryKind.Event);
        // The maximum stays inside the expression: EF Core sends it as a subquery of the same statement.
        var rows = await events
            .Where(e => e.Sequence == events.Max(x => x.Sequence) || (messageId != null && e.MessageId == messageId))
            .Select(e => new { e.Sequence, e.MessageId, e.Event })
            .ToListAsync(cancellationToken);
        var last = rows.Max(r => r.Sequence) ?? 0;
        var recorded = messageId is { } id
            ? rows.Where(r => r.MessageId == id).Select(r => r.Event).ToList()
            : [];

        // In a group-commit batch the events before this one share the DbContext and their rows are not in the table
        // until the batch commits: count them too, or two events of one batch would take the same sequence.
        foreach (var unsaved in db.ChangeTracker.Entries<SagaHistoryEntry>())
        {
            var entry = unsaved.Entity;
            if (unsaved.State != EntityState.Added || entry.CorrelationId != correlationId || entry.Kind != SagaHistoryKind.Event)
                continue;
            last = Math.Max(last, entry.Sequence ?? 0);
            if (messageId is not null && entry.MessageId == messageId)
                recorded.Add(entry.Event);
        }

        return new InstanceLog(last, recorded);
    }

    private static string? Clip(string? value, int length) =>
        value is null || value.Length <= length ? value : value[..length];

    private sealed class InstanceLog(int lastSequence, IEnumerable<string> recorded)
    {
        public int LastSequence { get; set; } = lastSequence;

        public HashSet<string> Recorded { get; } = new(recorded, StringComparer.Ordinal);

        public List<SagaHistoryEntry> Pending { get; } = [];

        public Stack<SagaHistoryEntry?> Open { get; } = new();
    }
}

/// <summary>What a recorder needs besides the attempt's DbContext; made once per saga type by the repository.</summary>
internal sealed record SagaHistorySettings(SagaHistoryOptions Options, TimeProvider Clock, IServiceScopeFactory Scopes, Type DbContextType, ILogger Logger);
