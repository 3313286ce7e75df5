using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Modules.Breakers;

namespace Sagas.Integration.Tests.Breakers;

/// <summary>Several breaker instances, each as one process with its own pool and clock, sharing one PostgreSQL.</summary>
public sealed class When_several_processes_share_a_breaker_in_PostgreSQL(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static readonly BreakerSettings Settings = new() { ConsecutiveFailures = 4, BreakDuration = TimeSpan.FromSeconds(30), ProbeCount = 3 };

    [ServerFact]
    public async Task Should_open_for_every_process_on_a_streak_spread_over_them_and_hand_out_exactly_the_probes()
    {
        await using (var db = database.NewContext())
            await db.Database.MigrateAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var sources = Enumerable.Range(0, 4).Select(_ => NpgsqlDataSource.Create(database.ConnectionString)).ToList();
        try
        {
            var processes = sources.Select(source => new ProviderBreakers(
                new BreakerOptions { Enabled = true, Defaults = Settings }, new PostgresBreakerStore(source, clock), clock)).ToList();
            var breakers = processes.Select(p => p.For("stub", "model-a")).ToList();

            // One failure in each process: a streak of four across the cluster, within one interval.
            foreach (var breaker in breakers)
                breaker.Record(failed: true);
            await Task.WhenAll(processes.Select(p => p.ReportAsync(CancellationToken.None)));
            // One more round brings every process the state the last reporter wrote.
            await Task.WhenAll(processes.Select(p => p.ReportAsync(CancellationToken.None)));
            Assert.All(breakers, b => Assert.Equal(BreakerState.Open, b.State));

            clock.Advance(TimeSpan.FromSeconds(30));
            // Every process races forty callers for the probes of the now half-open breaker, twice over.
            var permits = new List<BreakerPermit>();
            for (var round = 0; round < 2; round++)
            {
                permits.AddRange(await Task.WhenAll(breakers.SelectMany(b => Enumerable.Range(0, 10).Select(_ => b.EnterAsync(CancellationToken.None).AsTask()))));
                await Task.WhenAll(processes.Select(p => p.ReportAsync(CancellationToken.None)));
            }

            Assert.Equal(Settings.ProbeCount, permits.Count(p => p.IsProbe));
            Assert.Equal(80 - Settings.ProbeCount, permits.Count(p => p.Verdict == BreakerVerdict.Rejected));

            var store = new PostgresBreakerStore(sources[0], clock);
            var record = (await store.ListAsync(CancellationToken.None)).Single(r => r.Model == "model-a");
            Assert.Equal((BreakerState.HalfOpen, Settings.ProbeCount, 4L), (record.State, record.ProbesClaimed, record.TotalCalls));
            var transitions = await store.TransitionsAsync(new BreakerKey("stub", "model-a"), 10, CancellationToken.None);
            Assert.Equal(
                [(BreakerState.Open, BreakerState.HalfOpen), (BreakerState.Closed, BreakerState.Open)],
                transitions.Select(t => (t.From, t.To)).ToList());
        }
        finally
        {
            foreach (var source in sources)
                await source.DisposeAsync();
        }
    }

    [ServerFact]
    public async Task Should_close_for_every_process_once_the_probes_succeed()
    {
        await using (var db = database.NewContext())
            await db.Database.MigrateAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var first = NpgsqlDataSource.Create(database.ConnectionString);
        await using var second = NpgsqlDataSource.Create(database.ConnectionString);
        var settings = Settings with { ProbeCount = 2 };
        var one = new ProviderBreakers(new BreakerOptions { Enabled = true, Defaults = settings }, new PostgresBreakerStore(first, clock), clock);
        var two = new ProviderBreakers(new BreakerOptions { Enabled = true, Defaults = settings }, new PostgresBreakerStore(second, clock), clock);
        var a = one.For("stub", "model-b");
        var b = two.For("stub", "model-b");
        for (var i = 0; i < 4; i++)
            a.Record(failed: true);
        await one.ReportAsync(CancellationToken.None);
        await two.ReportAsync(CancellationToken.None);
        Assert.Equal(BreakerState.Open, b.State);

        clock.Advance(TimeSpan.FromSeconds(30));
        var probeA = await a.EnterAsync(CancellationToken.None);
        var probeB = await b.EnterAsync(CancellationToken.None);
        Assert.True(probeA.IsProbe && probeB.IsProbe);
        await a.CompleteAsync(probeA, failed: false, CancellationToken.None);
        await b.CompleteAsync(probeB, failed: false, CancellationToken.None);
        await one.ReportAsync(CancellationToken.None);

        Assert.Equal((BreakerState.Closed, BreakerState.Closed), (a.State, b.State));
    }
}
