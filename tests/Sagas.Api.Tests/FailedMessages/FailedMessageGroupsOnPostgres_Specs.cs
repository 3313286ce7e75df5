using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Api.BulkOperations;
using Sagas.Api.Tests.Races;
using Sagas.Contracts.Diagnostics;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Messaging.FailedMessages;
using Sagas.Modules.Runs;
using Sagas.Persistence;
using Xunit.Abstractions;

namespace Sagas.Api.Tests.FailedMessages;

/// <summary>The API on PostgreSQL with the in-memory bus: what the group list and the redelivery runner do at scale and under a race.</summary>
public sealed class PostgresFailedMessagesApi(string connectionString, int batchSize) : WebApplicationFactory<Program>
{
    private readonly string _blobs = Path.Combine(Path.GetTempPath(), "sagas-failed-groups-pg-" + Guid.NewGuid().ToString("N"));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:Provider", "PostgreSql");
        builder.UseSetting("Database:ConnectionString", connectionString);
        builder.UseSetting("Storage:Local:Root", _blobs);
        builder.UseSetting("Api:BulkOperations:BatchSize", batchSize.ToString(CultureInfo.InvariantCulture));
        builder.UseSetting("Api:BulkOperations:PollInterval", "00:00:00.100");
        builder.UseSetting("Api:MutationsPerMinute", "10000");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("Logging:LogLevel:Microsoft.EntityFrameworkCore.Database.Command", Environment.GetEnvironmentVariable("SPECS_SQL") ?? "Warning");
    }

    public async Task<T> QueryAsync<T>(Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(_blobs))
            Directory.Delete(_blobs, recursive: true);
    }
}

/// <summary>
/// The group list over 100,000 failed messages: the figures are measured in the setup and written to the test output
/// (docs/performance.md quotes them); the assertions are on the counts only, never on time.
/// </summary>
public sealed class When_a_hundred_thousand_failed_messages_are_grouped(PostgresDatabase database, ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    private const int Rows = 100_000;

    [ServerFact(postgres: true)]
    public async Task Should_count_each_group_of_the_messages_not_redelivered()
    {
        await using var api = new PostgresFailedMessagesApi(database.ConnectionString, 500);
        var client = api.CreateClient();
        var seeding = Stopwatch.StartNew();
        await api.QueryAsync(async db =>
        {
            db.Database.SetCommandTimeout(TimeSpan.FromMinutes(5));
            // Five queues × four exception types; every tenth message already redelivered. Bodies and stack traces of a
            // few hundred bytes, as a typical envelope and trace are, so the table is not unrealistically narrow.
            await db.Database.ExecuteSqlAsync($$"""
                INSERT INTO failed_messages (id, message_id, message_types, queue, exception_type, exception_message, stack_trace,
                                             faulted_at, body, content_type, headers, redelivered_at, redelivery_count)
                SELECT gen_random_uuid(), gen_random_uuid(), 'urn:message:Sagas.Specs:Scaled', 'scale-queue-' || (g % 5),
                       'System.ScaleException' || (g % 4), 'failure number ' || g, repeat('   at Sagas.Specs.Frame.Call()' || chr(10), 12),
                       timestamptz '2026-11-01 00:00:00+00' + g * interval '1 second', convert_to(repeat('x', 400), 'UTF8'),
                       'application/vnd.masstransit+json', '{}',
                       CASE WHEN g % 10 = 0 THEN timestamptz '2026-11-03 00:00:00+00' END, CASE WHEN g % 10 = 0 THEN 1 ELSE 0 END
                FROM generate_series(1, {{Rows}}) g
                """);
            await db.Database.ExecuteSqlRawAsync("VACUUM ANALYZE failed_messages");
            return 0;
        });
        output.WriteLine($"seeded {Rows:N0} failed_messages rows in {seeding.Elapsed.TotalSeconds:F1} s");

        var withIndex = await MeasureAsync(client, "with ix_failed_messages_unresolved_group");
        await ExplainAsync(api);
        var groups = withIndex.GetProperty("groups").EnumerateArray().ToList();
        // Every tenth message is redelivered, which empties the two groups whose numbers are all multiples of ten.
        Assert.Equal(18, groups.Count);
        Assert.Equal(Rows * 9 / 10, groups.Sum(g => g.GetProperty("count").GetInt32()));
        var first = groups.Single(g => g.GetProperty("queue").GetString() == "scale-queue-1" && g.GetProperty("exceptionType").GetString() == "System.ScaleException1");
        Assert.Equal(5_000, first.GetProperty("count").GetInt32());
        // g ≡ 1 (mod 20) and not a multiple of 10: the last such g below 100,000 is 99,981.
        Assert.Equal("failure number 99981", first.GetProperty("sampleMessage").GetString());

        await api.QueryAsync(db => db.Database.ExecuteSqlRawAsync("DROP INDEX ix_failed_messages_unresolved_group"));
        var without = await MeasureAsync(client, "without it");
        await ExplainAsync(api);
        Assert.Equal(withIndex.GetProperty("groups").ToString(), without.GetProperty("groups").ToString());
    }

    /// <summary>The plan of the statement the endpoint sends (as EF Core writes it), for the figures in docs/performance.md.</summary>
    private async Task ExplainAsync(PostgresFailedMessagesApi api) =>
        output.WriteLine(await api.QueryAsync(async db =>
        {
            var connection = db.Database.GetDbConnection();
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                EXPLAIN (ANALYZE, COSTS OFF)
                SELECT f.queue, f.exception_type, count(*)::int, min(f.faulted_at), max(f.faulted_at), COALESCE((
                    SELECT f0.exception_message FROM failed_messages AS f0
                    WHERE f0.redelivered_at IS NULL AND f0.queue = f.queue AND f0.exception_type = f.exception_type
                    ORDER BY f0.faulted_at DESC LIMIT 1), '')
                FROM failed_messages AS f WHERE f.redelivered_at IS NULL
                GROUP BY f.queue, f.exception_type ORDER BY count(*)::int DESC, f.queue, f.exception_type LIMIT 501
                """;
            var plan = new StringBuilder();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                plan.AppendLine(reader.GetString(0));
            return plan.ToString();
        }));

    /// <summary>The first call and the median of five more, written to the output.</summary>
    private async Task<JsonElement> MeasureAsync(HttpClient client, string label)
    {
        var times = new List<double>();
        JsonElement answer = default;
        for (var i = 0; i < 6; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await client.GetAsync(new Uri("/api/system/failed-messages/groups", UriKind.Relative));
            answer = await response.Content.ReadFromJsonAsync<JsonElement>();
            times.Add(watch.Elapsed.TotalMilliseconds);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var warm = times.Skip(1).Order().ToList();
        output.WriteLine($"GET /api/system/failed-messages/groups over {Rows:N0} rows, {label}: first {times[0]:F0} ms, median of 5 more {warm[2]:F0} ms (min {warm[0]:F0}, max {warm[^1]:F0})");
        return answer;
    }
}

/// <summary>
/// Two runners (as two API processes would be) working two operations over the same group at once: each row is claimed
/// by a conditional update before it is sent, so every message goes back exactly once, and the runner that lost a
/// row counts it as skipped. A gate on the bus holds the first send of each runner until both have sent, so the two
/// really overlap on the same rows every run.
/// </summary>
public sealed class When_two_runners_redeliver_the_same_group_at_once(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private const int Messages = 200;
    private const int BatchSize = 20;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [ServerFact(postgres: true)]
    public async Task Should_send_every_message_back_once_and_count_the_rows_the_other_runner_took_as_skipped()
    {
        await using var api = new PostgresFailedMessagesApi(database.ConnectionString, BatchSize);
        var client = api.CreateClient();
        var queue = "race-group-" + Guid.NewGuid().ToString("N")[..8];
        var bus = api.Services.GetRequiredService<IBus>();
        var received = new ConcurrentQueue<Guid>();
        var handle = bus.ConnectReceiveEndpoint(queue, e => e.Handler<CheckWorker>(context =>
        {
            received.Enqueue(context.MessageId!.Value);
            return Task.CompletedTask;
        }));
        await handle.Ready;
        var gate = new FirstSendsGate(queue, parties: 2);
        using var observer = bus.ConnectSendObserver(gate);
        var seeded = await SeedAsync(api, queue);

        var second = ActivatorUtilities.CreateInstance<BulkOperationRunner>(api.Services);
        await second.StartAsync(CancellationToken.None);
        try
        {
            var key = new { queue, exceptionType = "System.InvalidOperationException" };
            var operations = new[] { Guid.NewGuid(), Guid.NewGuid() };
            foreach (var operationId in operations)
            {
                using var accepted = await client.PostAsJsonAsync("/api/system/failed-messages/redeliver", new { group = key, confirm = true, operationId });
                Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            }

            var finished = new List<JsonElement>();
            foreach (var operationId in operations)
            {
                finished.Add(await Eventually.MatchAsync(
                    () => client.GetFromJsonAsync<JsonElement>($"/api/bulk-operations/{operationId}"),
                    o => o.GetProperty("status").GetString() != "running",
                    Patience,
                    o => o.ToString()));
            }

            Assert.All(finished, o => Assert.Equal("completed", o.GetProperty("status").GetString()));
            Assert.True(gate.Opened, "both runners sent at once");
            // What each runner sent itself (taken up minus skipped) adds up to every message once.
            Assert.Equal(Messages, finished.Sum(o => o.GetProperty("done").GetInt32() - o.GetProperty("skipped").GetInt32()));
            Assert.True(finished.Sum(o => o.GetProperty("skipped").GetInt32()) > 0, string.Join(" ", finished));

            await Eventually.MatchAsync(() => Task.FromResult(received.Count), count => count >= Messages, Patience, count => $"{count} received");
            var rows = await api.QueryAsync(db => db.Set<FailedMessage>().AsNoTracking().Where(m => m.Queue == queue).ToListAsync());
            Assert.All(rows, row => Assert.Equal(1, row.RedeliveryCount));
            Assert.All(rows, row => Assert.NotNull(row.RedeliveredAt));
            Assert.Equal(seeded.Order(), received.Order());
        }
        finally
        {
            await second.StopAsync(CancellationToken.None);
            second.Dispose();
        }
    }

    private static async Task<List<Guid>> SeedAsync(PostgresFailedMessagesApi api, string queue)
    {
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        var rows = Enumerable.Range(0, Messages).Select(i =>
        {
            var messageId = NewId.NextGuid();
            return new FailedMessage
            {
                Id = NewId.NextGuid(),
                MessageId = messageId,
                MessageTypes = MessageUrn.ForTypeString<CheckWorker>(),
                Queue = queue,
                ExceptionType = "System.InvalidOperationException",
                ExceptionMessage = "seeded for the race",
                FaultedAt = start.AddSeconds(i),
                Body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
                {
                    messageId,
                    messageType = new[] { MessageUrn.ForTypeString<CheckWorker>() },
                    message = new { correlationId = Guid.NewGuid() },
                    headers = new { },
                })),
                ContentType = "application/vnd.masstransit+json",
                Headers = "{}",
            };
        }).ToList();
        await api.QueryAsync(async db =>
        {
            db.AddRange(rows);
            return await db.SaveChangesAsync();
        });
        return [.. rows.Select(r => r.MessageId)];
    }

    /// <summary>Holds the first <c>parties</c> sends to the queue until that many are waiting, then lets everything through.</summary>
    private sealed class FirstSendsGate(string queue, int parties) : ISendObserver
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _arrived;

        public bool Opened => _open.Task.IsCompletedSuccessfully;

        public async Task PreSend<T>(SendContext<T> context)
            where T : class
        {
            if (context.DestinationAddress?.AbsolutePath.EndsWith(queue, StringComparison.Ordinal) != true || _open.Task.IsCompleted)
                return;
            if (Interlocked.Increment(ref _arrived) >= parties)
                _open.TrySetResult();
            await _open.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }

        public Task PostSend<T>(SendContext<T> context)
            where T : class => Task.CompletedTask;

        public Task SendFault<T>(SendContext<T> context, Exception exception)
            where T : class => Task.CompletedTask;
    }
}
