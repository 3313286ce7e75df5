using MassTransit;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Persistence.TestSagas;
using Sagas.Messaging.SagaHistory;
using Sagas.Persistence;

namespace Sagas.Integration.Tests.Persistence;

/// <summary>
/// Fan-in on real PostgreSQL: 20 counters receive 50 increments each, all sent at once and consumed 32 at a time, so
/// most increments of one counter meet others of the same counter in flight (and the first ones race to create it).
/// </summary>
public abstract class ConcurrentIncrements(PostgresDatabase database)
{
    protected const int Instances = 20;
    protected const int EventsPerInstance = 50;

    /// <summary>Ends every session of the database five times, 150 ms apart, while the fan-in runs; returns how many it ended.</summary>
    protected static async Task<int> TerminateSessionsAsync(string databaseName)
    {
        var terminated = 0;
        await using var admin = new Npgsql.NpgsqlConnection(TestServers.RequirePostgres());
        await admin.OpenAsync();
        for (var round = 0; round < 5; round++)
        {
            await using var kill = new Npgsql.NpgsqlCommand(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = @name AND pid <> pg_backend_pid()", admin);
            kill.Parameters.AddWithValue("name", databaseName);
            terminated += Convert.ToInt32(await kill.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
            await Task.Delay(TimeSpan.FromMilliseconds(150));
        }

        return terminated;
    }

    protected async Task<(List<CounterState> Rows, List<CounterIncremented> Published)> RunAsync(
        SagaConcurrencyMode mode, CounterEndpointSettings settings, Func<Task>? disturbWhileConsuming = null, bool groupCommit = false, int explosionsPerInstance = 0)
    {
        await using var host = await SagaTestHost.StartAsync(database.ConnectionString, mode, settings, groupCommit: groupCommit);
        var ids = Enumerable.Range(0, Instances).Select(_ => NewId.NextGuid()).ToList();

        // Interleaved: consecutive messages belong to different counters, so every batch in flight mixes them.
        var messages = Enumerable.Range(0, EventsPerInstance).SelectMany(_ => ids.Select(id => new IncrementCounter(id))).ToList();
        await Task.WhenAll(messages.Select(host.SendAsync));
        if (explosionsPerInstance > 0)
        {
            // Sent once the counters exist, among increments still in flight: each fails its own delivery every time.
            await host.WaitForAsync(ids, rows => rows.Count == Instances, TimeSpan.FromSeconds(60));
            var explosions = Enumerable.Range(0, explosionsPerInstance).SelectMany(_ => ids.Select(id => new ExplodeCounter(id)));
            var more = Enumerable.Range(0, EventsPerInstance).SelectMany(_ => ids.Select(id => new IncrementCounter(id)));
            await Task.WhenAll(explosions.Select(host.SendAsync).Concat(more.Select(host.SendAsync)));
            await host.WaitForAsync(ids, _ => host.CountInErrorQueue<ExplodeCounter>(m => ids.Contains(m.CounterId)) == Instances * explosionsPerInstance, TimeSpan.FromSeconds(120));
        }
        if (disturbWhileConsuming is not null)
            await disturbWhileConsuming();

        // Settled: every increment was counted or ended in the error queue.
        var rows = await host.WaitForAsync(
            ids,
            rows => rows.Sum(r => r.Count) + host.CountInErrorQueue<IncrementCounter>(m => ids.Contains(m.CounterId)) == Instances * EventsPerInstance * (explosionsPerInstance > 0 ? 2 : 1),
            TimeSpan.FromSeconds(120));
        await host.Harness.SettleAsync();
        var published = host.Harness.Published.Now<CounterIncremented>().Select(x => x.Context.Message).Where(m => ids.Contains(m.CounterId)).ToList();
        return (rows, published);
    }
}

public sealed class When_fifty_events_per_instance_arrive_at_once(PostgresDatabase database)
    : ConcurrentIncrements(database), IClassFixture<PostgresDatabase>
{
    [ServerFact]
    public Task Should_count_every_event_exactly_once_with_row_locks() => Should_count_every_event_exactly_once(SagaConcurrencyMode.Pessimistic);

    [ServerFact]
    public Task Should_count_every_event_exactly_once_with_version_checks() => Should_count_every_event_exactly_once(SagaConcurrencyMode.Optimistic);

    private async Task Should_count_every_event_exactly_once(SagaConcurrencyMode mode)
    {
        var (rows, published) = await RunAsync(mode, new CounterEndpointSettings());

        Assert.Equal(Instances, rows.Count);
        Assert.All(rows, row => Assert.Equal(EventsPerInstance, row.Count));
        Assert.All(rows, row => Assert.Equal(EventsPerInstance, row.Version));

        // The outbox let out only what committed attempts published: one event per increment, each count once.
        Assert.Equal(Instances * EventsPerInstance, published.Count);
        Assert.All(published.GroupBy(m => m.CounterId), counter =>
            Assert.Equal(Enumerable.Range(1, EventsPerInstance), counter.Select(m => m.Count).Order()));
    }
}

/// <summary>The negative control: the same load without the persistence retry must come up short, so the suite above can fail.</summary>
public sealed class When_fifty_events_per_instance_arrive_at_once_without_retries(PostgresDatabase database)
    : ConcurrentIncrements(database), IClassFixture<PostgresDatabase>
{
    [ServerFact]
    public async Task Should_lose_updates()
    {
        var (rows, _) = await RunAsync(SagaConcurrencyMode.Optimistic, new CounterEndpointSettings(RetryTransientFailures: false));

        Assert.True(rows.Sum(r => r.Count) < Instances * EventsPerInstance, $"expected lost updates, counted {rows.Sum(r => r.Count)}");
    }
}

/// <summary>
/// Dropped connections in the middle of the fan-in: the server terminates every session of the test database several
/// times while increments are being applied. Each failed attempt is retried on a fresh DbContext and connection.
/// </summary>
public sealed class When_database_connections_are_dropped_during_the_fan_in(PostgresDatabase database)
    : ConcurrentIncrements(database), IClassFixture<PostgresDatabase>
{
    private readonly PostgresDatabase _database = database;

    [ServerFact]
    public async Task Should_still_count_every_event_exactly_once()
    {
        var terminated = 0;
        var (rows, published) = await RunAsync(SagaConcurrencyMode.Pessimistic, new CounterEndpointSettings(), async () =>
            terminated = await TerminateSessionsAsync(_database.Name));

        Assert.True(terminated > 0, "no session was terminated, so nothing was disturbed");
        Assert.Equal(Instances, rows.Count);
        Assert.All(rows, row => Assert.Equal(EventsPerInstance, row.Count));
        Assert.Equal(Instances * EventsPerInstance, published.Count);
    }
}

/// <summary>
/// The same fan-in with group commit: events of one counter that meet in flight are applied in one transaction. Every
/// event still counts exactly once, the version still moves once per event, and batches really form.
/// </summary>
public sealed class When_fifty_events_per_instance_arrive_at_once_with_group_commit(PostgresDatabase database)
    : ConcurrentIncrements(database), IClassFixture<PostgresDatabase>
{
    private readonly string _name = database.Name;

    private readonly string _connectionString = database.ConnectionString;

    [ServerFact]
    public async Task Should_count_every_event_exactly_once()
    {
        var (rows, published) = await RunAsync(SagaConcurrencyMode.Pessimistic, new CounterEndpointSettings(), groupCommit: true);

        Assert.Equal(Instances, rows.Count);
        Assert.All(rows, row => Assert.Equal(EventsPerInstance, row.Count));
        Assert.All(rows, row => Assert.Equal(EventsPerInstance, row.Version));
        Assert.Equal(Instances * EventsPerInstance, published.Count);
        Assert.All(published.GroupBy(m => m.CounterId), counter =>
            Assert.Equal(Enumerable.Range(1, EventsPerInstance), counter.Select(m => m.Count).Order()));
    }

    [ServerFact]
    public async Task Should_commit_the_events_of_one_hot_instance_together()
    {
        const int Events = 300;
        using var batches = new BatchSizes();
        await using var host = await SagaTestHost.StartAsync(_connectionString, SagaConcurrencyMode.Pessimistic, new CounterEndpointSettings(), groupCommit: true);
        var id = NewId.NextGuid();
        await host.SendAsync(new IncrementCounter(id));
        await host.WaitForAsync([id], rows => rows.Count == 1, TimeSpan.FromSeconds(60));
        await Task.WhenAll(Enumerable.Range(1, Events - 1).Select(_ => host.SendAsync(new IncrementCounter(id))));

        var rows = await host.WaitForAsync([id], rows => rows.Sum(r => r.Count) == Events, TimeSpan.FromSeconds(120));
        await host.Harness.SettleAsync();

        Assert.Equal((Events, Events), (rows.Single().Count, rows.Single().Version));
        var published = host.Harness.Published.Now<CounterIncremented>().Select(x => x.Context.Message).Where(m => m.CounterId == id).ToList();
        Assert.Equal(Enumerable.Range(1, Events), published.Select(m => m.Count).Order());
        Assert.True(batches.Largest > 1, "no two events of the instance were committed together");
    }

    [ServerFact]
    public async Task Should_leave_the_changes_of_earlier_events_of_a_batch_when_a_read_only_event_runs_among_them()
    {
        const int Increments = 200;
        const int Peeks = 100;
        using var batches = new BatchSizes();
        await using var host = await SagaTestHost.StartAsync(_connectionString, SagaConcurrencyMode.Pessimistic, new CounterEndpointSettings(), groupCommit: true);
        var id = NewId.NextGuid();
        await host.SendAsync(new IncrementCounter(id));
        await host.WaitForAsync([id], rows => rows.Count == 1);

        // Interleaved, so read-only events land in the middle of batches, after increments not yet written.
        await Task.WhenAll(Enumerable.Range(0, Increments).Select(i => i % 2 == 0
            ? Task.WhenAll(host.SendAsync(new IncrementCounter(id)), host.SendAsync(new PeekCounter(id)))
            : host.SendAsync(new IncrementCounter(id))));

        var row = (await host.WaitForAsync([id], rows => rows.Single().Count == Increments + 1, TimeSpan.FromSeconds(120))).Single();
        await host.Harness.SettleAsync();

        Assert.Equal((Increments + 1, Increments + 1, 0), (row.Count, row.Version, row.Peeks));
        Assert.Equal(Peeks, host.Harness.Published.Now<CounterPeeked>().Count(x => x.Context.Message.CounterId == id));
        Assert.True(batches.Largest > 1, "no two events of the instance were committed together");
    }

    [ServerFact]
    public async Task Should_number_the_history_of_a_batch_without_gaps_or_repeats()
    {
        const int Events = 150;
        using var batches = new BatchSizes();
        await using var host = await SagaTestHost.StartAsync(
            _connectionString, SagaConcurrencyMode.Pessimistic, new CounterEndpointSettings(), new SagaHistoryOptions { KeepFirst = 1_000, KeepLast = 1_000 }, groupCommit: true);
        var id = NewId.NextGuid();
        await host.SendAsync(new IncrementCounter(id));
        await host.WaitForAsync([id], rows => rows.Count == 1);
        await Task.WhenAll(Enumerable.Range(1, Events - 1).Select(_ => host.SendAsync(new IncrementCounter(id))));

        await host.WaitForAsync([id], rows => rows.Single().Count == Events, TimeSpan.FromSeconds(120));
        var history = await host.WaitForHistoryAsync(id, rows => rows.Count == Events);

        Assert.Equal(Enumerable.Range(1, Events), history.Select(e => e.Sequence!.Value).Order());
        Assert.Equal(Events, history.Select(e => e.MessageId).Distinct().Count());
        Assert.True(batches.Largest > 1, "no two events of the instance were committed together");
    }

    [ServerFact]
    public async Task Should_fail_only_the_event_that_fails_when_it_meets_others_in_a_batch()
    {
        var (rows, published) = await RunAsync(SagaConcurrencyMode.Pessimistic, new CounterEndpointSettings(), groupCommit: true, explosionsPerInstance: 2);

        // Each explosion set the count to -1 and threw: rolled back every time, while the increments around it all counted.
        Assert.All(rows, row => Assert.Equal(2 * EventsPerInstance, row.Count));
        Assert.Equal(Instances * 2 * EventsPerInstance, published.Count);
    }

    [ServerFact]
    public async Task Should_still_count_every_event_exactly_once_when_connections_drop()
    {
        var terminated = 0;
        var (rows, published) = await RunAsync(SagaConcurrencyMode.Pessimistic, new CounterEndpointSettings(), async () =>
            terminated = await TerminateSessionsAsync(_name), groupCommit: true);

        Assert.True(terminated > 0, "no session was terminated, so nothing was disturbed");
        Assert.All(rows, row => Assert.Equal(EventsPerInstance, row.Count));
        Assert.Equal(Instances * EventsPerInstance, published.Count);
    }

    /// <summary>The largest batch the repository reported committing while the spec ran.</summary>
    private sealed class BatchSizes : IDisposable
    {
        private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
        private int _largest;

        public BatchSizes()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "sagas.saga.group_commit.events")
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<int>((_, value, _, _) =>
            {
                int seen;
                while (value > (seen = Volatile.Read(ref _largest)) && Interlocked.CompareExchange(ref _largest, value, seen) != seen)
                {
                }
            });
            _listener.Start();
        }

        public int Largest => Volatile.Read(ref _largest);

        public void Dispose() => _listener.Dispose();
    }
}
