using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;
using Sagas.Api.Tests.Races;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Messaging.FailedMessages;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Api.Tests.FailedMessages;

public sealed record GroupRedeliverySpecsOrder(Guid OrderId, bool Late);

/// <summary>Fails every order until <see cref="Fixed"/>; a late order always fails, with another exception type.</summary>
public sealed class GroupRedeliverySpecsState
{
    private volatile bool _fixed;

    public bool Fixed
    {
        get => _fixed;
        set => _fixed = value;
    }

    public ConcurrentDictionary<Guid, int> Consumed { get; } = new();
}

public sealed class GroupRedeliverySpecsConsumer(GroupRedeliverySpecsState state) : IConsumer<GroupRedeliverySpecsOrder>
{
    public Task Consume(ConsumeContext<GroupRedeliverySpecsOrder> context)
    {
        if (context.Message.Late)
            throw new TimeoutException($"order {context.Message.OrderId} came too late");
        if (!state.Fixed)
            throw new InvalidOperationException($"order {context.Message.OrderId} cannot be handled yet");
        state.Consumed.AddOrUpdate(context.Message.OrderId, 1, (_, count) => count + 1);
        return Task.CompletedTask;
    }
}

public sealed class GroupRedeliverySpecsConsumerDefinition : ConsumerDefinition<GroupRedeliverySpecsConsumer>
{
    public const string Queue = "group-redelivery-specs";

    // No retry: each message fails once and goes to the error queue, so the spec spends its time on the redelivery.
    public GroupRedeliverySpecsConsumerDefinition() => EndpointName = Queue;
}

/// <summary>
/// A group redelivered for real: a worker process (AddSagas on RabbitMQ and PostgreSQL with its migrations) fails
/// 2,000 orders with one exception and 10 with another; the consumer is fixed; the API, a process of its own on the
/// same broker and database, redelivers the first group through <c>POST /api/system/failed-messages/redeliver</c>.
/// Each of the 2,000 is consumed exactly once and resolved; the other group is neither sent nor touched.
/// </summary>
public sealed class When_a_group_of_two_thousand_failed_messages_is_redelivered_on_rabbitmq(PostgresDatabase database, RabbitMqVirtualHost broker)
    : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqVirtualHost>
{
    private const int Broken = 2_000;
    private const int Late = 10;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_consume_each_message_of_the_group_once_and_leave_the_other_group_alone()
    {
        var state = new GroupRedeliverySpecsState();
        await using var api = new RabbitMqApi(database.ConnectionString, broker.Address);
        var client = api.CreateClient();
        using var worker = await StartWorkerAsync(state);

        var endpoint = await worker.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{GroupRedeliverySpecsConsumerDefinition.Queue}"));
        var broken = Enumerable.Range(0, Broken).Select(_ => Guid.NewGuid()).ToList();
        var late = Enumerable.Range(0, Late).Select(_ => Guid.NewGuid()).ToList();
        await Task.WhenAll(broken.Select(id => endpoint.Send(new GroupRedeliverySpecsOrder(id, false))).Concat(late.Select(id => endpoint.Send(new GroupRedeliverySpecsOrder(id, true)))));
        await Eventually.MatchAsync(() => CountRowsAsync(api), count => count >= Broken + Late, Patience, count => $"{count} failed_messages rows");

        var groups = await client.GetFromJsonAsync<JsonElement>($"/api/system/failed-messages/groups?queue={GroupRedeliverySpecsConsumerDefinition.Queue}");
        Assert.Equal(
            [(typeof(InvalidOperationException).FullName, Broken), (typeof(TimeoutException).FullName, Late)],
            groups.GetProperty("groups").EnumerateArray().Select(g => (g.GetProperty("exceptionType").GetString(), g.GetProperty("count").GetInt32())));

        state.Fixed = true;
        var key = new { queue = GroupRedeliverySpecsConsumerDefinition.Queue, exceptionType = typeof(InvalidOperationException).FullName };
        using (var preview = await client.PostAsJsonAsync("/api/system/failed-messages/redeliver", new { group = key, dryRun = true }))
            Assert.Equal(Broken, (await preview.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("count").GetInt32());
        var operationId = Guid.NewGuid();
        using (var accepted = await client.PostAsJsonAsync("/api/system/failed-messages/redeliver", new { group = key, confirm = true, operationId }))
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        var done = await Eventually.MatchAsync(
            () => client.GetFromJsonAsync<JsonElement>($"/api/bulk-operations/{operationId}"),
            o => o.GetProperty("status").GetString() != "running",
            Patience,
            o => o.ToString());
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(Broken, done.GetProperty("done").GetInt32());
        Assert.Equal(0, done.GetProperty("skipped").GetInt32());

        await Eventually.MatchAsync(() => Task.FromResult(state.Consumed.Count), count => count >= Broken, Patience, count => $"{count} consumed");
        await Eventually.MatchAsync(() => ReadyAsync(GroupRedeliverySpecsConsumerDefinition.Queue), count => count == 0, Patience, count => $"{count} waiting");
        Assert.Equal(broken.Order(), state.Consumed.Keys.Order());
        Assert.All(state.Consumed.Values, count => Assert.Equal(1, count));
        Assert.DoesNotContain(late, state.Consumed.ContainsKey);

        var rows = await api.QueryAsync(db => db.Set<FailedMessage>().AsNoTracking()
            .Where(m => m.Queue == GroupRedeliverySpecsConsumerDefinition.Queue)
            .Select(m => new { m.ExceptionType, m.RedeliveredAt, m.RedeliveryCount })
            .ToListAsync());
        var resolved = rows.Where(r => r.ExceptionType == typeof(InvalidOperationException).FullName).ToList();
        Assert.Equal(Broken, resolved.Count);
        Assert.All(resolved, r => Assert.True(r.RedeliveredAt is not null && r.RedeliveryCount == 1, $"{r}"));
        var untouched = rows.Where(r => r.ExceptionType == typeof(TimeoutException).FullName).ToList();
        Assert.Equal(Late, untouched.Count);
        Assert.All(untouched, r => Assert.True(r.RedeliveredAt is null && r.RedeliveryCount == 0, $"{r}"));
    }

    private async Task<IHost> StartWorkerAsync(GroupRedeliverySpecsState state)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Messaging:Transport"] = "RabbitMq",
            ["Messaging:RabbitMq:Uri"] = broker.Address.ToString(),
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = database.ConnectionString,
            ["Worker:Roles"] = "none",
            ["Logging:LogLevel:Default"] = "Warning",
            // Two thousand faults are expected here; their error lines would only bury a real problem.
            ["Logging:LogLevel:MassTransit"] = "None",
        });
        builder.Services.AddSingleton(state);
        builder.AddSagas("group-redelivery-specs", SagasWorkflows.Catalog, bus => bus.AddConsumer<GroupRedeliverySpecsConsumer, GroupRedeliverySpecsConsumerDefinition>());
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static Task<int> CountRowsAsync(RabbitMqApi api) =>
        api.QueryAsync(db => db.Set<FailedMessage>().CountAsync(m => m.Queue == GroupRedeliverySpecsConsumerDefinition.Queue));

    private async Task<int> ReadyAsync(string queue)
    {
        var factory = new ConnectionFactory { Uri = broker.Address };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        return checked((int)await channel.MessageCountAsync(queue));
    }

    /// <summary>The API as its own process would run it: no worker role, the same broker and database as the worker.</summary>
    private sealed class RabbitMqApi(string connectionString, Uri brokerAddress) : WebApplicationFactory<Program>
    {
        private readonly string _blobs = Path.Combine(Path.GetTempPath(), "sagas-group-redelivery-" + Guid.NewGuid().ToString("N"));

        public async Task<T> QueryAsync<T>(Func<SagasDbContext, Task<T>> query)
        {
            await using var scope = Services.CreateAsyncScope();
            return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("Messaging:Transport", "RabbitMq");
            builder.UseSetting("Messaging:RabbitMq:Uri", brokerAddress.ToString());
            builder.UseSetting("Database:Provider", "PostgreSql");
            builder.UseSetting("Database:ConnectionString", connectionString);
            builder.UseSetting("Worker:Roles", "none");
            builder.UseSetting("Storage:Local:Root", _blobs);
            builder.UseSetting("Api:BulkOperations:PollInterval", "00:00:00.200");
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
        }

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            if (Directory.Exists(_blobs))
                Directory.Delete(_blobs, recursive: true);
        }
    }
}
