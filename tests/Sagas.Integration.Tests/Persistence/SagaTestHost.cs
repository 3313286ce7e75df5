using System.Collections.Concurrent;
using MassTransit;
using MassTransit.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.Integration.Tests.Persistence.TestSagas;
using Sagas.Messaging.SagaHistory;
using Sagas.Messaging.SagaRepository;
using Sagas.Persistence;

namespace Sagas.Integration.Tests.Persistence;

/// <summary>
/// The counter saga on the in-memory transport with its state in a real PostgreSQL database. The repository is
/// registered inside the harness callback: registered beside it, the harness would swap in the in-memory repository.
/// </summary>
public sealed class SagaTestHost : IAsyncDisposable
{
    public const string ErrorQueueName = CounterStateDefinition.QueueName + "_error";

    private readonly ServiceProvider _provider;

    private readonly ErrorQueueLog _errorQueue;

    private SagaTestHost(ServiceProvider provider, ErrorQueueLog errorQueue)
    {
        _provider = provider;
        _errorQueue = errorQueue;
        Harness = provider.GetRequiredService<ITestHarness>();
    }

    public ITestHarness Harness { get; }

    public ISagaStateMachineTestHarness<CounterStateMachine, CounterState> Counter =>
        Harness.GetSagaStateMachineHarness<CounterStateMachine, CounterState>();

    public static Task<SagaTestHost> StartAsync(string postgresConnectionString, SagaConcurrencyMode mode, CounterEndpointSettings? settings = null, SagaHistoryOptions? history = null, bool groupCommit = false) =>
        StartAsync(options => options.UseNpgsql(postgresConnectionString), mode, settings, history, groupCommit);

    public static async Task<SagaTestHost> StartAsync(Action<DbContextOptionsBuilder> useDatabase, SagaConcurrencyMode mode, CounterEndpointSettings? settings = null, SagaHistoryOptions? history = null, bool groupCommit = false)
    {
        var services = new ServiceCollection();
        if (history is not null)
            services.AddSingleton(history);
        services.AddDbContext<PersistenceTestDbContext>(options => useDatabase(options.UseSnakeCaseNamingConvention()));
        services.AddSingleton(settings ?? new CounterEndpointSettings());
        var errorQueue = new ErrorQueueLog();
        services.AddMassTransitTestHarness(x =>
        {
            x.AddSagaStateMachine<CounterStateMachine, CounterState, CounterStateDefinition>()
                .EfCoreRepository(r =>
                {
                    r.UseDbContext<PersistenceTestDbContext>();
                    r.ConcurrencyMode = mode;
                    r.GroupCommit = groupCommit;
                });
            x.AddSagaStateMachine<UnmappedStateMachine, UnmappedState, UnmappedStateDefinition>()
                .EfCoreRepository(r => r.UseDbContext<PersistenceTestDbContext>());
            x.UsingInMemory((context, cfg) =>
            {
                // Reads what MassTransit moved to the counter's error queue, so tests can see it arrive there.
                cfg.ReceiveEndpoint(ErrorQueueName, e =>
                {
                    e.ConfigureConsumeTopology = false;
                    e.Handler<IncrementCounter>(errorQueue.Record);
                    e.Handler<NudgeOrFault>(errorQueue.Record);
                    e.Handler<ExplodeCounter>(errorQueue.Record);
                    e.Handler<TouchUnmapped>(errorQueue.Record);
                });
                cfg.ConfigureEndpoints(context);
            });
        });
        // The harness logs at Debug; a thousand EF commands per test at that level cost more than the work itself.
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddOptions<TestHarnessOptions>().Configure(o => o.TestTimeout = TimeSpan.FromSeconds(60));

        var provider = services.BuildServiceProvider(validateScopes: true);
        await using (var scope = provider.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<PersistenceTestDbContext>();
            await db.Database.EnsureCreatedAsync();
        }

        var host = new SagaTestHost(provider, errorQueue);
        await host.Harness.Start();
        return host;
    }

    public async Task SendAsync<T>(T message)
        where T : class
    {
        var endpoint = await Harness.Bus.GetSendEndpoint(new Uri("queue:" + CounterStateDefinition.QueueName));
        await endpoint.Send(message);
    }

    /// <summary>Sends with the given message id: a second send with the same id is what a redelivery looks like.</summary>
    public async Task SendAsync<T>(T message, Guid messageId)
        where T : class
    {
        var endpoint = await Harness.Bus.GetSendEndpoint(new Uri("queue:" + CounterStateDefinition.QueueName));
        await endpoint.Send(message, context => context.MessageId = messageId);
    }

    /// <summary>The instance's history rows, in the order they were written.</summary>
    public async Task<List<SagaHistoryEntry>> HistoryAsync(Guid id)
    {
        await using var scope = _provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PersistenceTestDbContext>();
        return await db.Set<SagaHistoryEntry>().AsNoTracking().Where(e => e.CorrelationId == id).OrderBy(e => e.Id).ToListAsync();
    }

    /// <summary>Polls the instance's history until <paramref name="condition"/> holds or the deadline passes; returns the last read.</summary>
    public async Task<List<SagaHistoryEntry>> WaitForHistoryAsync(Guid id, Func<List<SagaHistoryEntry>, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var rows = await HistoryAsync(id);
            if (condition(rows) || DateTime.UtcNow > deadline)
                return rows;
            await Task.Delay(50);
        }
    }

    /// <summary>The stored row, read on a fresh context (never the repository's).</summary>
    public async Task<CounterState?> FindAsync(Guid id)
    {
        await using var scope = _provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PersistenceTestDbContext>();
        return await db.Set<CounterState>().AsNoTracking().SingleOrDefaultAsync(x => x.CorrelationId == id);
    }

    public async Task<List<CounterState>> FindAllAsync(IReadOnlyCollection<Guid> ids)
    {
        await using var scope = _provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PersistenceTestDbContext>();
        return await db.Set<CounterState>().AsNoTracking().Where(x => ids.Contains(x.CorrelationId)).ToListAsync();
    }

    /// <summary>Polls the database until <paramref name="condition"/> holds or the deadline passes; returns the last read.</summary>
    public async Task<List<CounterState>> WaitForAsync(IReadOnlyCollection<Guid> ids, Func<List<CounterState>, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var rows = await FindAllAsync(ids);
            if (condition(rows) || DateTime.UtcNow > deadline)
                return rows;
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// The fault reason MassTransit stamped on the first message of type <typeparamref name="T"/> matching
    /// <paramref name="filter"/> that arrived in the counter's error queue, or null if none arrived before the deadline.
    /// </summary>
    public async Task<string?> ArrivedInErrorQueue<T>(Func<T, bool> filter, TimeSpan? timeout = null)
        where T : class
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            if (_errorQueue.Find(filter) is { } reason)
                return reason;
            await Task.Delay(25);
        }

        return null;
    }

    public int CountInErrorQueue<T>(Func<T, bool> filter)
        where T : class =>
        _errorQueue.Count(filter);

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        await _provider.DisposeAsync();
    }
}


/// <summary>What the reader of the counter's error queue received, with the fault reason from the message headers.</summary>
internal sealed class ErrorQueueLog
{
    private readonly ConcurrentQueue<(object Message, string Reason)> _received = new();

    public Task Record<T>(ConsumeContext<T> context)
        where T : class
    {
        _received.Enqueue((context.Message, context.ReceiveContext.TransportHeaders.Get<string>("MT-Fault-Message") ?? ""));
        return Task.CompletedTask;
    }

    public int Count<T>(Func<T, bool> filter)
        where T : class =>
        _received.Count(x => x.Message is T message && filter(message));

    public string? Find<T>(Func<T, bool> filter)
        where T : class =>
        _received.Where(x => x.Message is T message && filter(message)).Select(x => x.Reason).FirstOrDefault();
}
