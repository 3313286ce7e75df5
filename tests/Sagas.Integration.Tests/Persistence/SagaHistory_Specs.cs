using MassTransit;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Persistence.TestSagas;
using Sagas.Messaging.SagaHistory;
using Sagas.Persistence;

namespace Sagas.Integration.Tests.Persistence;

/// <summary>
/// The run history the state-machine observer writes with the saga row, against real PostgreSQL, in both concurrency
/// modes. The counter keeps its first 3 and last 4 events, so bounding shows with few messages.
/// </summary>
public abstract class SagaHistoryBehaviour(PostgresDatabase database, SagaConcurrencyMode mode) : IAsyncLifetime
{
    private SagaTestHost? _host;

    private SagaTestHost Host => _host!;

    public async Task InitializeAsync()
    {
        if (database.ConnectionString.Length > 0)
            _host = await SagaTestHost.StartAsync(database.ConnectionString, mode, history: new SagaHistoryOptions { KeepFirst = 3, KeepLast = 4 });
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
            await _host.DisposeAsync();
    }

    [ServerFact]
    public async Task Should_record_each_event_with_the_state_before_and_after_its_time_and_message_id()
    {
        var id = NewId.NextGuid();
        var first = NewId.NextGuid();
        var second = NewId.NextGuid();
        var finish = NewId.NextGuid();
        await Host.SendAsync(new IncrementCounter(id), first);
        await Host.WaitForHistoryAsync(id, rows => rows.Count == 1);
        await Host.SendAsync(new IncrementCounter(id), second);
        await Host.WaitForHistoryAsync(id, rows => rows.Count == 2);
        await Host.SendAsync(new FinishCounter(id), finish);

        var history = await Host.WaitForHistoryAsync(id, rows => rows.Count == 3);

        Assert.Equal(
            [
                (1, "Incremented", "IncrementCounter", first, "Initial", "Active"),
                (2, "Incremented", "IncrementCounter", second, "Active", "Active"),
                (3, "Finished", "FinishCounter", finish, "Active", "Final"),
            ],
            history.Select(e => (e.Sequence!.Value, e.Event, e.MessageType!, e.MessageId!.Value, e.StateBefore!, e.StateAfter!)));
        Assert.All(history, e => Assert.Equal((nameof(CounterState), SagaHistoryKind.Event), (e.Saga, e.Kind)));
        Assert.True(history[0].At <= history[1].At && history[1].At <= history[2].At, "entries are timed in the order they ran");
        // The finalized instance's row is gone; its history stays for the operator.
        Assert.Null(await Host.FindAsync(id));
    }

    [ServerFact]
    public async Task Should_not_add_a_second_row_when_a_handled_message_is_delivered_again()
    {
        var id = NewId.NextGuid();
        var messageId = NewId.NextGuid();
        await Host.SendAsync(new IncrementCounter(id), messageId);
        await Host.WaitForAsync([id], rows => rows.Count == 1);

        // The same message again (a broker redelivery or our redelivery after minutes keeps its id), then a new one.
        await Host.SendAsync(new NudgeOrFault(id), messageId);
        await Host.WaitForAsync([id], rows => rows.Single().Count == 101);
        await Host.SendAsync(new IncrementCounter(id), messageId);
        var next = NewId.NextGuid();
        await Host.SendAsync(new IncrementCounter(id), next);

        var rows = await Host.WaitForAsync([id], rows => rows.Single().Version == 4);
        var history = await Host.HistoryAsync(id);
        // Three rows: the first delivery's Incremented, the Nudge (another event of the same message id), the new message.
        Assert.Equal(
            [(1, "Incremented", messageId), (2, "NudgedOrFaulted", messageId), (3, "Incremented", next)],
            history.Select(e => (e.Sequence!.Value, e.Event, e.MessageId!.Value)));
        Assert.Equal(4, rows.Single().Version);
    }

    [ServerFact]
    public async Task Should_record_no_event_of_an_attempt_that_threw_and_count_its_faults_on_one_row()
    {
        var id = NewId.NextGuid();
        await Host.SendAsync(new IncrementCounter(id));
        await Host.WaitForHistoryAsync(id, rows => rows.Count == 1);

        var explosion = NewId.NextGuid();
        await Host.SendAsync(new ExplodeCounter(id), explosion);
        Assert.NotNull(await Host.ArrivedInErrorQueue<ExplodeCounter>(m => m.CounterId == id));
        // An operator sends it back (same message id); it fails again.
        await Host.SendAsync(new ExplodeCounter(id), explosion);

        var history = await Host.WaitForHistoryAsync(id, rows => rows.Any(e => e.Kind == SagaHistoryKind.Fault && e.Attempts == 2));
        var fault = Assert.Single(history, e => e.Kind == SagaHistoryKind.Fault);
        Assert.Equal(("Exploded", "ExplodeCounter", explosion, "Active", 2), (fault.Event, fault.MessageType, fault.MessageId!.Value, fault.StateBefore, fault.Attempts));
        Assert.Equal(("InvalidOperationException", "The counter exploded."), (fault.FaultType, fault.FaultMessage));
        Assert.Null(fault.Sequence);
        // The event itself rolled back with the saga row: the count was never -1, and no event row says Exploded.
        Assert.Single(history, e => e.Kind == SagaHistoryKind.Event);
        Assert.Equal(1, (await Host.FindAsync(id))!.Count);
    }

    [ServerFact]
    public async Task Should_record_nothing_for_a_read_only_event()
    {
        var id = NewId.NextGuid();
        await Host.SendAsync(new IncrementCounter(id));
        await Host.WaitForHistoryAsync(id, rows => rows.Count == 1);
        await Host.SendAsync(new PeekCounter(id));
        Assert.True(await Host.Harness.Published.Any<CounterPeeked>(x => x.Context.Message.CounterId == id));
        await Host.SendAsync(new IncrementCounter(id));

        var history = await Host.WaitForHistoryAsync(id, rows => rows.Count >= 2);
        Assert.Equal(["Incremented", "Incremented"], history.Select(e => e.Event));
        Assert.Equal([1, 2], history.Select(e => e.Sequence!.Value));
    }

    [ServerFact]
    public async Task Should_keep_the_first_and_last_events_of_a_long_history()
    {
        var id = NewId.NextGuid();
        for (var i = 1; i <= 12; i++)
        {
            await Host.SendAsync(new IncrementCounter(id));
            var expected = i;
            await Host.WaitForAsync([id], rows => rows.Count == 1 && rows[0].Count == expected);
        }

        var history = await Host.HistoryAsync(id);
        // KeepFirst 3, KeepLast 4: events 4..8 were deleted as the later ones came.
        Assert.Equal([1, 2, 3, 9, 10, 11, 12], history.Select(e => e.Sequence!.Value).Order());
    }

    [ServerFact]
    public async Task Should_number_concurrent_events_of_one_instance_without_gaps_or_repeats()
    {
        var id = NewId.NextGuid();
        await Host.SendAsync(new IncrementCounter(id));
        await Host.WaitForAsync([id], rows => rows.Count == 1);
        // Twenty more at once: pessimistic waits on the row, optimistic loses races and retries.
        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Host.SendAsync(new IncrementCounter(id))));

        var rows = await Host.WaitForAsync([id], rows => rows.Single().Count == 21);
        Assert.Equal(21, rows.Single().Count);
        var history = await Host.HistoryAsync(id);
        // 21 events numbered 1..21; the bound kept 1..3 and 18..21.
        Assert.Equal([1, 2, 3, 18, 19, 20, 21], history.Select(e => e.Sequence!.Value).Order());
        Assert.Equal(history.Count, history.Select(e => e.MessageId).Distinct().Count());
    }
}

public sealed class When_saga_history_is_recorded_with_row_locks(PostgresDatabase database)
    : SagaHistoryBehaviour(database, SagaConcurrencyMode.Pessimistic), IClassFixture<PostgresDatabase>;

public sealed class When_saga_history_is_recorded_with_version_checks(PostgresDatabase database)
    : SagaHistoryBehaviour(database, SagaConcurrencyMode.Optimistic), IClassFixture<PostgresDatabase>;
