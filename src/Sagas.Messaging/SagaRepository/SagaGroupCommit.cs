using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Telemetry;
using Sagas.Messaging.Outbox;

namespace Sagas.Messaging.SagaRepository;

/// <summary>One event's part in a shared transaction: the DbContext and outbox of the batch it runs in.</summary>
internal sealed record GroupCommitBatch(AsyncServiceScope Scope, DbContext Db, SagaOutbox? Outbox);

/// <summary>
/// Applies the events waiting for one saga instance in one transaction (<see cref="EfCoreSagaRepositoryConfigurator.GroupCommit"/>).
/// The first event of an instance leads: it opens the transaction, runs itself and every event that queued behind it
/// (up to <see cref="MaxEvents"/>) in arrival order on the same tracked row, commits once, and hands the lead to the
/// next event that queued meanwhile. Every event's delivery completes only after the commit that holds its change, so
/// a crash before it leaves all of them unacknowledged (at-least-once, as with one transaction each).
/// <para>
/// A failure inside a batch (one event's behaviour throws, the connection drops) rolls the whole transaction back. The
/// event that threw fails with its own exception; every other event of the batch fails with a transient
/// <see cref="SagaConcurrencyException"/>, so the endpoint's database retry runs it again as a new attempt (with a
/// fresh in-memory outbox: nothing it published in the lost transaction goes out). Each of them, the one that threw
/// included, runs its next attempt alone, in a transaction of its own, so one bad event costs the others one retry and
/// never fails them. Group commit therefore needs the database retry on the endpoint, as every saga endpoint here has.
/// </para>
/// <para>
/// Leadership is per process; two processes (or a raced hand-over) that lead the same instance at once are serialised
/// by the row lock.
/// </para>
/// </summary>
internal sealed class SagaGroupCommit
{
    /// <summary>Keeps one transaction short enough that its row lock never holds the rest of the cluster for long.</summary>
    public const int MaxEvents = 64;

    /// <summary>More marks than this means their messages never came back (moved to an error queue): forget them all.</summary>
    private const int MaxAloneMarks = 100_000;

    private static readonly Histogram<int> Batches = SagasTelemetry.Meter.CreateHistogram<int>(
        "sagas.saga.group_commit.events", "{event}", "Events of one saga instance committed in one group-commit transaction.");

    private readonly ConcurrentDictionary<Guid, InstanceQueue> _queues = new();

    /// <summary>Message ids whose next attempt runs alone: they were in a batch that rolled back.</summary>
    private readonly ConcurrentDictionary<Guid, byte> _alone = new();

    /// <param name="messageId">The delivery's message id, which marks it to run alone after a rolled-back batch.</param>
    /// <param name="alone">The event in a transaction of its own (the repository's usual path).</param>
    /// <param name="inBatch">The event inside a batch's transaction; the caller commits.</param>
    /// <param name="openBatch">A new scope and DbContext with an open transaction, or null where batching does not apply (not PostgreSQL).</param>
    /// <param name="commit">Commits a batch and wakes the outbox dispatcher.</param>
    public async Task RunAsync(
        Guid correlationId,
        Guid? messageId,
        Func<Task> alone,
        Func<GroupCommitBatch, Task> inBatch,
        Func<Task<GroupCommitBatch?>> openBatch,
        Func<GroupCommitBatch, Task> commit)
    {
        if (messageId is { } marked && _alone.TryRemove(marked, out _))
        {
            await alone();
            return;
        }

        var pending = new PendingEvent(messageId, alone, inBatch);
        var queue = _queues.GetOrAdd(correlationId, _ => new InstanceQueue());
        bool lead;
        lock (queue)
        {
            lead = !queue.Draining;
            if (lead)
                queue.Draining = true;
            else
                queue.Waiting.Add(pending);
        }

        if (!lead && await pending.Turn.Task == Turn.Done)
        {
            pending.ThrowIfFailed();
            return;
        }

        List<PendingEvent> batch = [pending];
        lock (queue)
        {
            var more = Math.Min(queue.Waiting.Count, MaxEvents - 1);
            batch.AddRange(queue.Waiting.GetRange(0, more));
            queue.Waiting.RemoveRange(0, more);
        }

        await RunBatchAsync(batch, openBatch, commit);

        PendingEvent? next = null;
        lock (queue)
        {
            if (queue.Waiting.Count == 0)
            {
                queue.Draining = false;
                _queues.TryRemove(new KeyValuePair<Guid, InstanceQueue>(correlationId, queue));
            }
            else
            {
                next = queue.Waiting[0];
                queue.Waiting.RemoveAt(0);
            }
        }

        next?.Turn.TrySetResult(Turn.Lead);
        foreach (var follower in batch.Skip(1))
            follower.Turn.TrySetResult(Turn.Done);
        pending.ThrowIfFailed();
    }

    /// <summary>Never throws: each event's outcome is left in its <see cref="PendingEvent.Failure"/>, for the hand-over must happen.</summary>
    private async Task RunBatchAsync(List<PendingEvent> batch, Func<Task<GroupCommitBatch?>> openBatch, Func<GroupCommitBatch, Task> commit)
    {
        GroupCommitBatch? open = null;
        PendingEvent? running = null;
        try
        {
            open = batch.Count > 1 ? await openBatch() : null;
            if (open is null)
            {
                foreach (var item in batch)
                {
                    running = item;
                    await item.Alone();
                }

                return;
            }

            foreach (var item in batch)
            {
                running = item;
                await item.InBatch(open);
            }

            running = null;
            await commit(open);
            Batches.Record(batch.Count);
        }
        catch (Exception exception) when (open is null)
        {
            // Alone (or before a batch opened): the failure is the running event's own; those after it have not run yet.
            if (running is null)
            {
                foreach (var item in batch)
                    Fail(item, Rolledback(exception));
                return;
            }

            running.Failure = exception;
            foreach (var item in batch.SkipWhile(item => item != running).Skip(1))
            {
                try
                {
                    await item.Alone();
                }
                catch (Exception failure)
                {
                    item.Failure = failure;
                }
            }
        }
        catch (Exception exception)
        {
            foreach (var item in batch)
                Fail(item, item == running ? exception : Rolledback(exception));
        }
        finally
        {
            if (open is not null)
                await open.Scope.DisposeAsync();
        }
    }

    /// <summary>The event fails this attempt and runs its next one alone.</summary>
    private void Fail(PendingEvent item, Exception failure)
    {
        item.Failure = failure;
        if (_alone.Count > MaxAloneMarks)
            _alone.Clear();
        if (item.MessageId is { } id)
            _alone.TryAdd(id, 0);
    }

    private static SagaConcurrencyException Rolledback(Exception cause) =>
        new("The saga transaction this event shared with others of its instance was rolled back (another event of it failed, " +
            "or the database did); its next attempt runs alone.", cause);

    private enum Turn
    {
        Done,
        Lead,
    }

    private sealed class InstanceQueue
    {
        public List<PendingEvent> Waiting { get; } = [];

        public bool Draining { get; set; }
    }

    private sealed class PendingEvent(Guid? messageId, Func<Task> alone, Func<GroupCommitBatch, Task> inBatch)
    {
        public Guid? MessageId { get; } = messageId;

        public Func<Task> Alone { get; } = alone;

        public Func<GroupCommitBatch, Task> InBatch { get; } = inBatch;

        public TaskCompletionSource<Turn> Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Exception? Failure { get; set; }

        public void ThrowIfFailed()
        {
            if (Failure is not null)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(Failure).Throw();
        }
    }
}
