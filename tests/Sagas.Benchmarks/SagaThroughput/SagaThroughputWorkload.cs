using System.Diagnostics;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Messaging.SagaRepository;
using Sagas.Persistence;

namespace Sagas.Benchmarks.SagaThroughput;

/// <summary>How one run stores and serializes the saga; <see cref="Repository"/> null means MassTransit's in-memory repository.</summary>
public sealed record TallyScenario(string Title, SagaConcurrencyMode? Repository, int Partitions, string QueueName)
{
    public int PrefetchCount { get; init; } = 64;

    public int ConcurrentMessageLimit { get; init; } = 32;

    /// <summary>The repository's group commit: the events waiting for the instance share one transaction.</summary>
    public bool GroupCommit { get; init; }
}

/// <summary>
/// Events per second into ONE saga instance over RabbitMQ (durable queue, publisher confirms): the queue is filled
/// first, then the saga endpoint starts and drains it; the drain is timed from the first to the last consumed event
/// and the instance's tally is checked against the number sent (a lost update shows as a shortfall).
/// </summary>
internal sealed class SagaThroughputWorkload : IWorkload
{
    public string Name => "saga-throughput";

    public string Description => "events/s into one saga instance: in-memory vs EF Core pessimistic vs optimistic (RabbitMQ + PostgreSQL). [--quick] [--events N]";

    public async Task<int> RunAsync(string[] args)
    {
        var events = BenchmarkArguments.Int(args, "--events", args.Contains("--quick") ? 1_000 : 10_000);

        await using var database = await BenchmarkServers.CreateDatabaseAsync();
        await using var broker = await BenchmarkServers.CreateVirtualHostAsync();
        await EnsureSchemaAsync(database.ConnectionString);

        var run = Guid.NewGuid().ToString("N")[..6];
        TallyScenario[] scenarios =
        [
            new("in-memory repository (reference)", null, 0, $"tally-memory-{run}"),
            new("EF Core pessimistic (FOR UPDATE)", SagaConcurrencyMode.Pessimistic, 0, $"tally-pessimistic-{run}"),
            new("EF Core pessimistic + partitioner", SagaConcurrencyMode.Pessimistic, 8, $"tally-pessimistic-partitioned-{run}"),
            new("EF Core optimistic + partitioner", SagaConcurrencyMode.Optimistic, 8, $"tally-optimistic-partitioned-{run}"),
            new("EF Core pessimistic + group commit", SagaConcurrencyMode.Pessimistic, 0, $"tally-group-commit-{run}") { GroupCommit = true },
            new("EF Core pessimistic + group commit, 128 in flight", SagaConcurrencyMode.Pessimistic, 0, $"tally-group-commit-128-{run}")
            {
                GroupCommit = true, ConcurrentMessageLimit = 128, PrefetchCount = 256,
            },
        ];

        Console.WriteLine($"# saga-throughput: {events:N0} events into one instance per scenario");
        Console.WriteLine(MachineDescription());
        Console.WriteLine();
        // The baseline of the same run: what one hot row takes in PostgreSQL with no bus at all.
        var raw = await RawHotRowRateAsync(database.ConnectionString, Math.Min(events, 5_000));
        Console.WriteLine("| scenario | send (events/s) | drain (events/s) | ratio to raw hot-row rate | most in flight | events per group commit | tally | lost | faulted |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        Console.WriteLine($"| raw hot-row transactions, one connection, no bus (baseline) | | {raw:N0} | 1 | 1 | | | | |");

        var allExact = true;
        foreach (var scenario in scenarios)
        {
            var result = await RunScenarioAsync(scenario, events, broker.Address, database.ConnectionString);
            allExact &= result.Tally == events;
            Console.WriteLine(
                $"| {scenario.Title} | {result.SendRate:N0} | {result.DrainRate:N0} | {result.DrainRate / raw:N2} | {result.MostInFlight} | {result.EventsPerCommit?.ToString("N1") ?? ""} | {result.Tally:N0} | {events - result.Tally:N0} | {result.Faulted:N0} |");
        }

        Console.WriteLine();
        Console.WriteLine($"load average after: {LoadAverage()}");
        Console.WriteLine(allExact ? "zero lost updates in every scenario" : "LOST UPDATES: see the table");
        return allExact ? 0 : 1;
    }

    private static async Task<ScenarioResult> RunScenarioAsync(TallyScenario scenario, int events, Uri broker, string connectionString)
    {
        var tallyId = NewId.NextGuid();
        var sendRate = await FillQueueAsync(broker, scenario.QueueName, tallyId, events);

        await using var provider = BuildSagaHost(scenario, broker, connectionString);
        var bus = provider.GetRequiredService<IBusControl>();
        var progress = new DrainProgress(events);
        using var commits = new GroupCommitSizes();
        bus.ConnectConsumeObserver(progress);
        await bus.StartAsync();
        try
        {
            // Done when every event was consumed; a drain that stops moving for 30 s ends the scenario (the tally tells what was lost).
            while (!progress.Completed.IsCompleted && !progress.StalledFor(TimeSpan.FromSeconds(30)))
                await Task.WhenAny(progress.Completed, Task.Delay(TimeSpan.FromSeconds(1)));
        }
        finally
        {
            await bus.StopAsync();
        }

        var saga = await provider.GetRequiredService<ILoadSagaRepository<TallyState>>().Load(tallyId);
        return new ScenarioResult(sendRate, progress.Rate, saga?.Total ?? 0, progress.Faulted, commits.Mean, progress.MaxInFlight);
    }

    /// <summary>
    /// BEGIN, SELECT … FOR UPDATE, UPDATE, COMMIT on one row in a loop over one connection, with prepared statements:
    /// the rate an instance's events could reach if each were its own transaction and nothing else ran. Returns transactions/s.
    /// </summary>
    private static async Task<double> RawHotRowRateAsync(string connectionString, int transactions)
    {
        var id = NewId.NextGuid();
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var insert = new Npgsql.NpgsqlCommand("INSERT INTO tally_state (correlation_id, version, current_state, total) VALUES (@id, 0, 'Counting', 0)", connection))
        {
            insert.Parameters.AddWithValue("id", id);
            await insert.ExecuteNonQueryAsync();
        }

        await using var select = new Npgsql.NpgsqlCommand("SELECT total FROM tally_state WHERE correlation_id = @id FOR UPDATE", connection);
        select.Parameters.AddWithValue("id", id);
        await using var update = new Npgsql.NpgsqlCommand("UPDATE tally_state SET total = @total, version = version + 1 WHERE correlation_id = @id", connection);
        update.Parameters.AddWithValue("id", id);
        var total = update.Parameters.Add("total", NpgsqlTypes.NpgsqlDbType.Integer);
        await select.PrepareAsync();
        await update.PrepareAsync();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < transactions; i++)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            select.Transaction = transaction;
            update.Transaction = transaction;
            total.Value = (int)(await select.ExecuteScalarAsync())! + 1;
            await update.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }

        return transactions / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Sends every event to the saga's queue before anything consumes it; returns events/s of the send.</summary>
    private static async Task<double> FillQueueAsync(Uri broker, string queueName, Guid tallyId, int events)
    {
        var producer = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(broker, host => host.PublisherConfirmation = true));
        await producer.StartAsync();
        try
        {
            var endpoint = await producer.GetSendEndpoint(new Uri($"queue:{queueName}"));
            var clock = Stopwatch.StartNew();
            foreach (var batch in Enumerable.Range(1, events).Chunk(500))
                await Task.WhenAll(batch.Select(sequence => endpoint.Send(new AddToTally(tallyId, sequence))));
            return events / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            await producer.StopAsync();
        }
    }

    private static ServiceProvider BuildSagaHost(TallyScenario scenario, Uri broker, string connectionString)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddDbContext<TallyDbContext>(options => options.UseNpgsql(connectionString).UseSnakeCaseNamingConvention());
        services.AddSingleton(scenario);
        services.AddMassTransit(x =>
        {
            x.DisableUsageTelemetry();
            var saga = x.AddSagaStateMachine<TallyStateMachine, TallyState, TallyStateDefinition>();
            if (scenario.Repository is { } mode)
            {
                saga.EfCoreRepository(r =>
                {
                    r.UseDbContext<TallyDbContext>();
                    r.ConcurrencyMode = mode;
                    r.GroupCommit = scenario.GroupCommit;
                });
            }
            else
            {
                saga.InMemoryRepository();
            }

            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(broker, host => host.PublisherConfirmation = true);
                cfg.ConfigureEndpoints(context);
            });
        });
        return services.BuildServiceProvider();
    }

    private static async Task EnsureSchemaAsync(string connectionString)
    {
        var options = new DbContextOptionsBuilder<TallyDbContext>().UseNpgsql(connectionString).UseSnakeCaseNamingConvention().Options;
        await using var db = new TallyDbContext(options);
        await db.Database.EnsureCreatedAsync();
    }

    private static string MachineDescription()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        return $"machine: {Environment.ProcessorCount} cores ({cpu ?? "unknown cpu"}), {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, " +
               $".NET {Environment.Version}, load average before: {LoadAverage()}";
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private sealed record ScenarioResult(double SendRate, double DrainRate, int Tally, int Faulted, double? EventsPerCommit, int MostInFlight);

    /// <summary>The repository's own histogram of events per group-commit transaction, averaged over the scenario.</summary>
    private sealed class GroupCommitSizes : IDisposable
    {
        private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
        private long _commits;
        private long _events;

        public GroupCommitSizes()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "sagas.saga.group_commit.events")
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<int>((_, value, _, _) =>
            {
                Interlocked.Increment(ref _commits);
                Interlocked.Add(ref _events, value);
            });
            _listener.Start();
        }

        public double? Mean => Interlocked.Read(ref _commits) is var commits and > 0 ? (double)Interlocked.Read(ref _events) / commits : null;

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>Counts deliveries consumed successfully (after any retries), timing the first to the last; faults are counted apart.</summary>
    private sealed class DrainProgress(int expected) : IConsumeObserver
    {
        private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _firstTicks;
        private long _lastTicks;
        private int _done;
        private int _faulted;
        private int _inFlight;
        private int _maxInFlight;

        public int MaxInFlight => Volatile.Read(ref _maxInFlight);
        private readonly long _created = Stopwatch.GetTimestamp();

        public Task Completed => _completed.Task;

        public int Faulted => _faulted;

        public double Rate => _done / Stopwatch.GetElapsedTime(_firstTicks, _lastTicks).TotalSeconds;

        public Task PreConsume<T>(ConsumeContext<T> context)
            where T : class
        {
            Interlocked.CompareExchange(ref _firstTicks, Stopwatch.GetTimestamp(), 0);
            var now = Interlocked.Increment(ref _inFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
            {
            }

            return Task.CompletedTask;
        }

        public Task PostConsume<T>(ConsumeContext<T> context)
            where T : class
        {
            Interlocked.Exchange(ref _lastTicks, Stopwatch.GetTimestamp());
            Interlocked.Decrement(ref _inFlight);
            if (Interlocked.Increment(ref _done) == expected)
                _completed.TrySetResult();
            return Task.CompletedTask;
        }

        public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception)
            where T : class
        {
            Interlocked.Exchange(ref _lastTicks, Stopwatch.GetTimestamp());
            Interlocked.Increment(ref _faulted);
            Interlocked.Decrement(ref _inFlight);
            return Task.CompletedTask;
        }

        public bool StalledFor(TimeSpan quiet)
        {
            var last = Interlocked.Read(ref _lastTicks);
            var first = Interlocked.Read(ref _firstTicks);
            return Stopwatch.GetElapsedTime(last != 0 ? last : first != 0 ? first : _created) > quiet;
        }
    }
}
