using MassTransit;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Persistence.TestSagas;
using Sagas.Persistence;

namespace Sagas.Integration.Tests.Persistence;

public sealed class When_a_saga_message_cannot_be_persisted(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private SagaTestHost? _host;

    private SagaTestHost Host => _host!;

    public async Task InitializeAsync()
    {
        if (database.ConnectionString.Length > 0)
            _host = await SagaTestHost.StartAsync(database.ConnectionString, SagaConcurrencyMode.Pessimistic);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
            await _host.DisposeAsync();
    }

    [ServerFact]
    public async Task Should_move_a_message_without_correlation_id_to_the_error_queue_naming_saga_and_message()
    {
        await Host.SendAsync(new IncrementCounter(Guid.Empty, "no-id"));

        var reason = await Host.ArrivedInErrorQueue<IncrementCounter>(m => m.CounterId == Guid.Empty);
        Assert.NotNull(reason);
        Assert.Contains(nameof(CounterState), reason);
        Assert.Contains(nameof(IncrementCounter), reason);
        Assert.Contains("correlation id", reason);
        Assert.Null(await Host.FindAsync(Guid.Empty));

        await Should_keep_the_endpoint_working();
    }

    [ServerFact]
    public async Task Should_move_a_message_for_an_unmapped_state_to_the_error_queue_naming_saga_and_message()
    {
        var id = NewId.NextGuid();
        await Host.SendAsync(new TouchUnmapped(id));

        var reason = await Host.ArrivedInErrorQueue<TouchUnmapped>(m => m.Id == id);
        Assert.NotNull(reason);
        Assert.Contains(nameof(UnmappedState), reason);
        Assert.Contains(nameof(TouchUnmapped), reason);
        Assert.Contains("not mapped", reason);

        await Should_keep_the_endpoint_working();
    }

    /// <summary>The counter saga shares the queue with the failing messages and still gets its work done.</summary>
    private async Task Should_keep_the_endpoint_working()
    {
        var id = NewId.NextGuid();
        await Host.SendAsync(new IncrementCounter(id));
        await Host.SendAsync(new IncrementCounter(id));

        var rows = await Host.WaitForAsync([id], rows => rows.SingleOrDefault()?.Count == 2);
        Assert.Equal(2, Assert.Single(rows).Count);
    }
}
