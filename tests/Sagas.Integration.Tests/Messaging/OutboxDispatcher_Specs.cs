using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Sagas.Contracts.ScanSessions;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Messaging.FailedMessages;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Messaging;

/// <summary>
/// <see cref="OutboxDispatcher"/> on PostgreSQL with an in-memory bus whose every publish is recorded (message id and
/// type): rows it cannot read among good ones, two dispatchers on one table, a crash between publish and delete.
/// </summary>
public sealed class When_the_outbox_is_dispatched_on_postgresql : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly PostgresDatabase _database;
    private readonly ConcurrentQueue<(Guid MessageId, Type Type)> _published = new();
    private ServiceProvider? _bus;

    public When_the_outbox_is_dispatched_on_postgresql(PostgresDatabase database) => _database = database;

    private IBus Bus => _bus!.GetRequiredService<IBus>();

    public async Task InitializeAsync()
    {
        if (TestServers.Postgres is null)
            return;
        await using (var db = _database.NewContext())
        {
            await db.Database.MigrateAsync();
            // Each spec starts from an empty table: the class shares one database.
            await db.Set<OutboxMessage>().ExecuteDeleteAsync();
            await db.Set<FailedMessage>().ExecuteDeleteAsync();
        }

        var services = new ServiceCollection();
        services.AddMassTransit(x => x.UsingInMemory());
        _bus = services.BuildServiceProvider();
        await _bus.GetRequiredService<IBusControl>().StartAsync(new CancellationTokenSource(Deadline).Token);
        Bus.ConnectPublishObserver(new Recorder(this));
    }

    public async Task DisposeAsync()
    {
        if (_bus is not null)
        {
            await _bus.GetRequiredService<IBusControl>().StopAsync();
            await _bus.DisposeAsync();
        }
    }

    [ServerFact(postgres: true, rabbitMq: false)]
    public async Task Should_set_aside_unreadable_rows_and_publish_every_other_row_once()
    {
        var good = new List<Guid>();
        var bad = new List<Guid>();
        for (var i = 0; i < 5; i++)
            good.AddRange(await WriteAsync(4));
        // A type a newer build wrote before this one was rolled back to, and a body that is not the type's JSON.
        bad.Add(await WriteRawAsync("Sagas.Contracts.Gone.RemovedInThisBuild", "{}"));
        good.AddRange(await WriteAsync(3));
        bad.Add(await WriteRawAsync(typeof(ScanMatchFound).FullName!, "{not json"));
        good.AddRange(await WriteAsync(3));

        using var setAside = new MeterRecorder("sagas.outbox.set_aside");
        var dispatcher = Dispatcher(batchSize: 5);
        await DrainAsync(dispatcher);

        Assert.Equal(good.Order(), _published.Select(p => p.MessageId).Order());
        Assert.Equal(0, await _database.QueryAsync(db => db.Set<OutboxMessage>().CountAsync()));
        var failed = await _database.QueryAsync(db => db.Set<FailedMessage>().AsNoTracking().OrderBy(m => m.FaultedAt).ToListAsync());
        Assert.Equal(bad.Order(), failed.Select(m => m.MessageId).Order());
        Assert.All(failed, m => Assert.Equal("outbox", m.Queue));
        var corrupt = failed.Single(m => m.MessageId == bad[1]);
        Assert.Equal((typeof(ScanMatchFound).FullName, "{not json"), (corrupt.MessageTypes, System.Text.Encoding.UTF8.GetString(corrupt.Body)));
        Assert.Contains("JsonException", corrupt.ExceptionType, StringComparison.Ordinal);
        Assert.Contains("RemovedInThisBuild", failed.Single(m => m.MessageId == bad[0]).ExceptionMessage, StringComparison.Ordinal);
        Assert.Equal(2, setAside.Total);
    }

    [ServerFact(postgres: true, rabbitMq: false)]
    public async Task Should_publish_a_set_aside_row_once_when_redelivered_to_a_build_that_knows_its_type()
    {
        var ids = await WriteAsync(3);
        // An older build: it knows only the shared contracts, not the scan session events the rows hold.
        await DrainAsync(Dispatcher(batchSize: 10, new OutboxMessageTypes([])));
        Assert.Empty(_published);
        var failed = await _database.QueryAsync(db => db.Set<FailedMessage>().AsNoTracking().ToListAsync());
        Assert.Equal(ids.Order(), failed.Select(m => m.MessageId).Order());

        await using (var db = _database.NewContext())
        {
            var redeliverer = new FailedMessageRedeliverer(db, Bus, TimeProvider.System);
            foreach (var message in failed)
                Assert.Equal(RedeliveryOutcome.Redelivered, (await redeliverer.RedeliverAsync(message.Id, CancellationToken.None)).Outcome);
            Assert.Equal(RedeliveryOutcome.AlreadyRedelivered, (await redeliverer.RedeliverAsync(failed[0].Id, CancellationToken.None)).Outcome);
        }

        await DrainAsync(Dispatcher(batchSize: 10));
        Assert.Equal(ids.Order(), _published.Select(p => p.MessageId).Order());
        Assert.All(_published, p => Assert.Equal(typeof(ScanMatchFound), p.Type));
        Assert.Equal(0, await _database.QueryAsync(db => db.Set<OutboxMessage>().CountAsync()));
    }

    [ServerFact(postgres: true, rabbitMq: false)]
    public async Task Should_publish_every_row_exactly_once_with_two_dispatchers_on_one_table()
    {
        const int rows = 3000;
        var ids = new List<Guid>();
        for (var i = 0; i < rows / 500; i++)
            ids.AddRange(await WriteAsync(500));

        var first = Dispatcher(batchSize: 50);
        var second = Dispatcher(batchSize: 50);
        using var deadline = new CancellationTokenSource(Deadline);
        var dispatched = await Task.WhenAll(DrainAsync(first, deadline.Token), DrainAsync(second, deadline.Token));

        Assert.Equal(rows, _published.Count);
        Assert.Equal(ids.Order(), _published.Select(p => p.MessageId).Order());
        Assert.All(dispatched, count => Assert.True(count > 0, $"a dispatcher published nothing: {string.Join(", ", dispatched)}"));
        Assert.Equal(0, await _database.QueryAsync(db => db.Set<OutboxMessage>().CountAsync()));
    }

    [ServerFact(postgres: true, rabbitMq: false)]
    public async Task Should_publish_again_with_the_same_message_ids_after_a_crash_between_publish_and_delete()
    {
        var ids = await WriteAsync(40);
        const string crashing = "outbox-crash-spec";
        var crashed = 0;
        _afterPublish = async () =>
        {
            // The dispatcher's connection dies after its tenth publish, before it could delete anything.
            if (_published.Count >= 10 && Interlocked.Exchange(ref crashed, 1) == 0)
            {
                await using var admin = new NpgsqlConnection(_database.ConnectionString);
                await admin.OpenAsync();
                await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = @name", admin);
                kill.Parameters.AddWithValue("name", crashing);
                await kill.ExecuteScalarAsync();
            }
        };

        await Assert.ThrowsAnyAsync<Exception>(() => Dispatcher(batchSize: 100, applicationName: crashing).DispatchBatchAsync(CancellationToken.None));
        var beforeCrash = _published.Select(p => p.MessageId).ToHashSet();
        Assert.True(beforeCrash.Count >= 10, $"{beforeCrash.Count} rows were published before the crash");
        Assert.Equal(40, await _database.QueryAsync(db => db.Set<OutboxMessage>().CountAsync()));
        _afterPublish = null;

        await DrainAsync(Dispatcher(batchSize: 100));
        var counts = _published.GroupBy(p => p.MessageId).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(ids.Order(), counts.Keys.Order());
        // What was published before the crash is published once more, with the same message id; nothing else twice.
        Assert.Equal(beforeCrash.Order(), counts.Where(c => c.Value == 2).Select(c => c.Key).Order());
        Assert.All(counts.Values, count => Assert.InRange(count, 1, 2));
        Assert.Equal(0, await _database.QueryAsync(db => db.Set<OutboxMessage>().CountAsync()));
    }

    private Func<Task>? _afterPublish;

    private OutboxDispatcher Dispatcher(int batchSize, OutboxMessageTypes? types = null, string? applicationName = null)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(_database.ConnectionString) { ApplicationName = applicationName ?? "outbox-spec" }.ConnectionString;
        var services = new ServiceCollection();
        services.AddScoped(_ =>
        {
            var builder = new DbContextOptionsBuilder<SagasDbContext>();
            PersistenceRegistration.Configure(builder, DatabaseProvider.PostgreSql, connectionString, SagasWorkflows.Model);
            return new SagasDbContext(builder.Options);
        });
        return new OutboxDispatcher(
            services.BuildServiceProvider().GetRequiredService<IServiceScopeFactory>(),
            Bus,
            new OutboxSignal(),
            new OutboxOptions { BatchSize = batchSize },
            types ?? new OutboxMessageTypes(SagasWorkflows.Catalog.Assemblies),
            NullLogger<OutboxDispatcher>.Instance);
    }

    /// <summary>Dispatches until a pass finds nothing; a pass that fails is a failure of the spec.</summary>
    private static async Task<int> DrainAsync(OutboxDispatcher dispatcher, CancellationToken cancellationToken = default)
    {
        var total = 0;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Deadline);
        while (await dispatcher.DispatchBatchAsync(deadline.Token) is var count and > 0)
            total += count;
        return total;
    }

    private async Task<List<Guid>> WriteAsync(int count)
    {
        var ids = await _database.WithOutboxAsync(async (db, outbox) =>
        {
            for (var i = 0; i < count; i++)
                outbox.Add(new ScanMatchFound(Guid.NewGuid(), "EB-1", $"f{i}.pdf", "1 Code", null));
            await db.SaveChangesAsync();
            return db.ChangeTracker.Entries<OutboxMessage>().Select(e => e.Entity.MessageId).ToList();
        });
        return ids;
    }

    private Task<Guid> WriteRawAsync(string type, string body) => _database.QueryAsync(async db =>
    {
        var row = new OutboxMessage { MessageId = NewId.NextGuid(), MessageType = type, Body = body, CreatedAt = DateTimeOffset.UtcNow };
        db.Add(row);
        await db.SaveChangesAsync();
        return row.MessageId;
    });

    private sealed class Recorder(When_the_outbox_is_dispatched_on_postgresql spec) : IPublishObserver
    {
        public Task PrePublish<T>(PublishContext<T> context)
            where T : class => Task.CompletedTask;

        public async Task PostPublish<T>(PublishContext<T> context)
            where T : class
        {
            spec._published.Enqueue((context.MessageId!.Value, typeof(T) == typeof(object) ? context.Message.GetType() : typeof(T)));
            if (spec._afterPublish is { } after)
                await after();
        }

        public Task PublishFault<T>(PublishContext<T> context, Exception exception)
            where T : class => Task.CompletedTask;
    }

    /// <summary>Sums one counter of the Sagas meter while it lives.</summary>
    private sealed class MeterRecorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public MeterRecorder(string instrument)
        {
            _listener.InstrumentPublished = (found, listener) =>
            {
                if (found.Name == instrument)
                    listener.EnableMeasurementEvents(found);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }
}
