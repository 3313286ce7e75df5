using MassTransit;
using Microsoft.EntityFrameworkCore;
using Sagas.Integration.Tests.Persistence.TestSagas;
using Sagas.Persistence;

namespace Sagas.Integration.Tests.Persistence;

/// <summary>The embedded default: no row locks, so the repository runs optimistic even when pessimistic is asked for.</summary>
public sealed class When_the_saga_state_lives_in_sqlite : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "sagas-sqlite-" + Guid.NewGuid().ToString("N")[..8]);
    private SagaTestHost _host = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        var file = Path.Combine(_folder, "sagas.db");
        _host = await SagaTestHost.StartAsync(options => options.UseSqlite($"Data Source={file};Pooling=False"), SagaConcurrencyMode.Pessimistic);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task Should_count_concurrent_events_exactly()
    {
        var ids = Enumerable.Range(0, 5).Select(_ => NewId.NextGuid()).ToList();
        var messages = Enumerable.Range(0, 20).SelectMany(_ => ids.Select(id => new IncrementCounter(id))).ToList();
        await Task.WhenAll(messages.Select(_host.SendAsync));

        var rows = await _host.WaitForAsync(ids, rows => rows.Sum(r => r.Count) + _host.CountInErrorQueue<IncrementCounter>(_ => true) == messages.Count);

        Assert.Equal(0, _host.CountInErrorQueue<IncrementCounter>(_ => true));
        Assert.All(rows, row => Assert.Equal((20, 20), (row.Count, row.Version)));
    }

    [Fact]
    public async Task Should_remove_a_finalized_instance_and_answer_the_harness()
    {
        var id = NewId.NextGuid();
        await _host.SendAsync(new IncrementCounter(id));
        Assert.Equal(id, await _host.Counter.Exists(id, machine => machine.Active));

        await _host.SendAsync(new FinishCounter(id));

        Assert.Null(await _host.Counter.NotExists(id));
        Assert.Null(await _host.FindAsync(id));
    }
}
