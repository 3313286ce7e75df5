using MassTransit;
using MassTransit.Testing;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Persistence.TestSagas;
using Sagas.Persistence;

namespace Sagas.Integration.Tests.Persistence;

/// <summary>
/// What MassTransit expects of a saga repository, against real PostgreSQL; run once per concurrency mode by the two
/// classes below. Every test uses ids of its own, so they share the class's database.
/// </summary>
public abstract class SagaRepositoryBehaviour(PostgresDatabase database, SagaConcurrencyMode mode) : IAsyncLifetime
{
    private SagaTestHost? _host;

    private SagaTestHost Host => _host!;

    public async Task InitializeAsync()
    {
        if (database.ConnectionString.Length > 0)
            _host = await SagaTestHost.StartAsync(database.ConnectionString, mode);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
            await _host.DisposeAsync();
    }

    [ServerFact]
    public async Task Should_create_an_instance_that_the_harness_can_find_in_its_state()
    {
        var id = NewId.NextGuid();
        await Host.SendAsync(new IncrementCounter(id, "found"));

        Assert.Equal(id, await Host.Counter.Exists(id, machine => machine.Active));
        var row = await Host.FindAsync(id);
        Assert.NotNull(row);
        Assert.Equal(1, row.Count);
        Assert.Equal("Active", row.CurrentState);
        Assert.Equal(1, row.Version);
    }

    [ServerFact]
    public async Task Should_keep_one_instance_when_initiating_events_race_and_apply_both()
    {
        // Twenty ids, two initiating events each, all in flight at once: most pairs collide on the INSERT.
        var ids = Enumerable.Range(0, 20).Select(_ => NewId.NextGuid()).ToList();
        await Task.WhenAll(ids.SelectMany(id => new[] { Host.SendAsync(new IncrementCounter(id)), Host.SendAsync(new IncrementCounter(id)) }));

        var rows = await Host.WaitForAsync(ids, rows => rows.Count == ids.Count && rows.All(r => r.Count == 2));

        Assert.Equal(ids.Order(), rows.Select(r => r.CorrelationId).Order());
        Assert.All(rows, row => Assert.Equal(2, row.Count));
    }

    [ServerFact]
    public async Task Should_keep_one_instance_when_pre_inserting_events_race_and_apply_both()
    {
        // InsertOnInitial: the loser's INSERT fails inside its transaction, which must stay usable for the Load after it.
        var ids = Enumerable.Range(0, 20).Select(_ => NewId.NextGuid()).ToList();
        await Task.WhenAll(ids.SelectMany(id => new[] { Host.SendAsync(new IncrementCounterEagerly(id)), Host.SendAsync(new IncrementCounterEagerly(id)) }));

        var rows = await Host.WaitForAsync(ids, rows => rows.Count == ids.Count && rows.All(r => r.Count == 2));

        Assert.Equal(ids.Order(), rows.Select(r => r.CorrelationId).Order());
        Assert.All(rows, row => Assert.Equal((2, "Active"), (row.Count, row.CurrentState)));
        Assert.False(await Host.Harness.Published.Any<Fault<IncrementCounterEagerly>>());
    }

    [ServerFact]
    public async Task Should_discard_an_event_for_a_missing_instance_when_told_to()
    {
        var id = NewId.NextGuid();
        await Host.SendAsync(new NudgeOrDiscard(id));

        Assert.True(await Host.Harness.Consumed.Any<NudgeOrDiscard>(x => x.Context.Message.CounterId == id));
        Assert.False(await Host.Harness.Published.Any<Fault<NudgeOrDiscard>>());
        Assert.Null(await Host.FindAsync(id));
    }

    [ServerFact]
    public async Task Should_fault_an_event_for_a_missing_instance_when_told_to()
    {
        var id = NewId.NextGuid();
        await Host.SendAsync(new NudgeOrFault(id));

        Assert.True(await Host.Harness.Published.Any<Fault<NudgeOrFault>>(x => x.Context.Message.Message.CounterId == id));
        Assert.NotNull(await Host.ArrivedInErrorQueue<NudgeOrFault>(m => m.CounterId == id));
        Assert.Null(await Host.FindAsync(id));
    }

    [ServerFact]
    public async Task Should_run_the_missing_instance_action_when_told_to()
    {
        var id = NewId.NextGuid();
        await Host.SendAsync(new NudgeOrExecute(id));

        Assert.True(await Host.Harness.Published.Any<CounterWasMissing>(x => x.Context.Message.CounterId == id));
        Assert.Null(await Host.FindAsync(id));
    }

    [ServerFact]
    public async Task Should_apply_an_event_for_an_existing_instance()
    {
        var id = NewId.NextGuid();
        await Host.SendAsync(new IncrementCounter(id));
        Assert.NotNull(await Host.Counter.Exists(id, machine => machine.Active));

        await Host.SendAsync(new NudgeOrFault(id));

        var rows = await Host.WaitForAsync([id], rows => rows.Single().Count == 101);
        Assert.Equal(101, rows.Single().Count);
        Assert.Equal(2, rows.Single().Version);
    }

    [ServerFact]
    public async Task Should_persist_nothing_for_a_read_only_event()
    {
        var id = NewId.NextGuid();
        await Host.SendAsync(new IncrementCounter(id));
        Assert.NotNull(await Host.Counter.Exists(id, machine => machine.Active));

        await Host.SendAsync(new PeekCounter(id));

        // The behaviour ran (it published what it saw) ...
        Assert.True(await Host.Harness.Published.Any<CounterPeeked>(x => x.Context.Message.CounterId == id));
        // ... and a later event, applied after it, finds the row as the read-only event found it.
        await Host.SendAsync(new IncrementCounter(id));
        var row = (await Host.WaitForAsync([id], rows => rows.Single().Count == 2)).Single();
        Assert.Equal(0, row.Peeks);
        Assert.Equal(2, row.Count);
        Assert.Equal(2, row.Version);
    }

    [ServerFact]
    public async Task Should_remove_a_finalized_instance()
    {
        var id = NewId.NextGuid();
        await Host.SendAsync(new IncrementCounter(id));
        Assert.NotNull(await Host.Counter.Exists(id, machine => machine.Active));

        await Host.SendAsync(new FinishCounter(id));

        Assert.True(await Host.Counter.Consumed.Any<FinishCounter>(x => x.Context.Message.CounterId == id));
        Assert.Null(await Host.Counter.NotExists(id));
        Assert.Null(await Host.FindAsync(id));
    }

    [ServerFact]
    public async Task Should_apply_a_query_correlated_event_to_every_matching_instance()
    {
        var group = "group-" + NewId.NextGuid().ToString("N")[..8];
        var members = Enumerable.Range(0, 3).Select(_ => NewId.NextGuid()).ToList();
        var outsider = NewId.NextGuid();
        foreach (var id in members)
            await Host.SendAsync(new IncrementCounter(id, group));
        await Host.SendAsync(new IncrementCounter(outsider, group + "-other"));
        await Host.WaitForAsync([.. members, outsider], rows => rows.Count == 4);

        await Host.SendAsync(new ResetGroup(group));

        var rows = await Host.WaitForAsync(members, rows => rows.All(r => r.Resets == 1));
        Assert.All(rows, row => Assert.Equal((0, 1), (row.Count, row.Resets)));
        var untouched = await Host.FindAsync(outsider);
        Assert.Equal((1, 0), (untouched!.Count, untouched.Resets));
    }

    [ServerFact]
    public async Task Should_discard_a_query_correlated_event_that_matches_nothing()
    {
        var group = "nobody-" + NewId.NextGuid().ToString("N")[..8];
        await Host.SendAsync(new ResetGroup(group));

        Assert.True(await Host.Harness.Consumed.Any<ResetGroup>(x => x.Context.Message.Group == group));
        Assert.False(await Host.Harness.Published.Any<Fault<ResetGroup>>());
    }
}

public sealed class When_the_repository_locks_rows(PostgresDatabase database)
    : SagaRepositoryBehaviour(database, SagaConcurrencyMode.Pessimistic), IClassFixture<PostgresDatabase>;

public sealed class When_the_repository_checks_versions(PostgresDatabase database)
    : SagaRepositoryBehaviour(database, SagaConcurrencyMode.Optimistic), IClassFixture<PostgresDatabase>;
