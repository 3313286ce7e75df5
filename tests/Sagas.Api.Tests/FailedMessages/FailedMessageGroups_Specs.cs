using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Api.Tests.Races;
using Sagas.Contracts.Diagnostics;
using Sagas.Messaging.FailedMessages;
using Sagas.Modules.Runs;
using Sagas.Persistence;

namespace Sagas.Api.Tests.FailedMessages;

/// <summary>The embedded default (SQLite, in-memory bus) with a bulk runner that polls often and takes small batches.</summary>
public sealed class FailedMessageGroupsApi : WebApplicationFactory<Program>
{
    public const int BatchSize = 3;
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-failed-groups-specs-" + Guid.NewGuid().ToString("N"));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("Storage:Local:Root", Path.Combine(_dataDirectory, "blobs"));
        builder.UseSetting("Api:BulkOperations:PollInterval", "00:00:00.200");
        builder.UseSetting("Api:BulkOperations:BatchSize", BatchSize.ToString(global::System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Api:MutationsPerMinute", "10000");
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

/// <summary>
/// <c>GET /api/system/failed-messages/groups</c> and <c>POST /api/system/failed-messages/redeliver</c>: the groups,
/// preview, confirmation, idempotency, the background redelivery through the one-by-one path, and bad input.
/// </summary>
public sealed class When_failed_messages_are_redelivered_by_group(FailedMessageGroupsApi api) : IClassFixture<FailedMessageGroupsApi>
{
    private const string Route = "/api/system/failed-messages/redeliver";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_group_the_messages_not_redelivered_by_queue_and_exception_type_with_the_newest_message_as_sample()
    {
        var queue = NewQueue();
        var start = new DateTimeOffset(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
        await SeedAsync(queue, "System.InvalidOperationException", 3, start, "first");
        await SeedAsync(queue, "System.TimeoutException", 2, start.AddHours(1), "slow");
        // Redelivered and not failed since: resolved, in no group.
        await SeedAsync(queue, "System.InvalidOperationException", 1, start.AddDays(2), "resolved", redelivered: true);

        var list = await _client.GetFromJsonAsync<JsonElement>($"/api/system/failed-messages/groups?queue={queue}");

        var groups = list.GetProperty("groups").EnumerateArray().ToList();
        Assert.Equal(2, groups.Count);
        Assert.False(list.GetProperty("truncated").GetBoolean());
        var invalid = groups[0];
        Assert.Equal(queue, invalid.GetProperty("queue").GetString());
        Assert.Equal("System.InvalidOperationException", invalid.GetProperty("exceptionType").GetString());
        Assert.Equal(3, invalid.GetProperty("count").GetInt32());
        Assert.Equal(start, invalid.GetProperty("firstSeen").GetDateTimeOffset());
        Assert.Equal(start.AddMinutes(2), invalid.GetProperty("lastSeen").GetDateTimeOffset());
        Assert.Equal("first #3", invalid.GetProperty("sampleMessage").GetString());
        Assert.Equal("System.TimeoutException", groups[1].GetProperty("exceptionType").GetString());
        Assert.Equal(2, groups[1].GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task Should_preview_then_redeliver_the_group_once_each_even_when_the_call_is_repeated()
    {
        var queue = NewQueue();
        var received = await ListenAsync(queue);
        var group = await SeedAsync(queue, "System.InvalidOperationException", 7, DateTimeOffset.UtcNow.AddMinutes(-30), "broken");
        var other = await SeedAsync(queue, "System.TimeoutException", 2, DateTimeOffset.UtcNow.AddMinutes(-30), "slow");
        var key = new { queue, exceptionType = "System.InvalidOperationException" };

        var preview = await PostAsync(new { group = key, dryRun = true }, HttpStatusCode.OK);
        Assert.Equal(7, preview.GetProperty("count").GetInt32());
        Assert.Equal(0, await OperationCountAsync(BulkOperationKind.Redeliver, null, queue));

        var operationId = Guid.NewGuid();
        using var accepted = await _client.PostAsJsonAsync(Route, new { group = key, confirm = true, operationId, reason = "consumer fixed" });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal($"/api/bulk-operations/{operationId}", accepted.Headers.Location?.ToString());
        var started = await accepted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("redeliver", started.GetProperty("kind").GetString());
        Assert.Equal(7, started.GetProperty("total").GetInt32());
        Assert.Equal("local-developer", started.GetProperty("requestedBy").GetString());
        Assert.Equal(queue, started.GetProperty("filter").GetProperty("group").GetProperty("queue").GetString());

        // The same call again (a retry after a lost answer) answers the same operation and starts nothing new.
        var again = await PostAsync(new { group = key, confirm = true, operationId, reason = "consumer fixed" }, HttpStatusCode.OK);
        Assert.Equal(operationId, again.GetProperty("operationId").GetGuid());

        var done = await Eventually.MatchAsync(() => GetOperationAsync($"/api/bulk-operations/{operationId}"), o => o.GetProperty("status").GetString() != "running", Patience, o => o.ToString());
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(7, done.GetProperty("done").GetInt32());
        Assert.Equal(0, done.GetProperty("skipped").GetInt32());
        // The route bulk cancel started with reads every kind too.
        Assert.Equal("completed", (await GetOperationAsync($"/api/runs/bulk-operations/{operationId}")).GetProperty("status").GetString());

        await Eventually.MatchAsync(() => Task.FromResult(received.Count), count => count >= 7, Patience, count => $"{count} received");
        Assert.Equal(group.Select(m => m.MessageId).Order(), received.Order());
        var rows = await QueryAsync(db => db.Set<FailedMessage>().AsNoTracking().Where(m => m.Queue == queue).ToListAsync());
        Assert.All(rows.Where(r => group.Any(g => g.Id == r.Id)), r => Assert.Equal(1, r.RedeliveryCount));
        Assert.All(rows.Where(r => other.Any(o => o.Id == r.Id)), r => Assert.Null(r.RedeliveredAt));
        Assert.Equal(1, await OperationCountAsync(BulkOperationKind.Redeliver, operationId));

        var groups = await _client.GetFromJsonAsync<JsonElement>($"/api/system/failed-messages/groups?queue={queue}");
        Assert.Equal(["System.TimeoutException"], groups.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("exceptionType").GetString()));
    }

    [Fact]
    public async Task Should_redeliver_listed_ids_leaving_out_those_already_redelivered()
    {
        var queue = NewQueue();
        var received = await ListenAsync(queue);
        var seeded = await SeedAsync(queue, "System.InvalidOperationException", 3, DateTimeOffset.UtcNow.AddMinutes(-5), "listed");
        using (var one = await _client.PostAsync(new Uri($"/api/system/failed-messages/{seeded[0].Id}/redeliver", UriKind.Relative), null))
            Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        var ids = seeded.Select(m => m.Id).ToArray();

        var preview = await PostAsync(new { ids, dryRun = true }, HttpStatusCode.OK);
        Assert.Equal(2, preview.GetProperty("count").GetInt32());
        Assert.Equal(1, preview.GetProperty("alreadyRedelivered").GetInt32());

        var operationId = Guid.NewGuid();
        await PostAsync(new { ids, confirm = true, operationId }, HttpStatusCode.Accepted);
        var done = await Eventually.MatchAsync(() => GetOperationAsync($"/api/bulk-operations/{operationId}"), o => o.GetProperty("status").GetString() != "running", Patience, o => o.ToString());
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(2, done.GetProperty("done").GetInt32());

        await Eventually.MatchAsync(() => Task.FromResult(received.Count), count => count >= 3, Patience, count => $"{count} received");
        Assert.Equal(seeded.Select(m => m.MessageId).Order(), received.Order());
        var counts = await QueryAsync(db => db.Set<FailedMessage>().AsNoTracking().Where(m => m.Queue == queue).Select(m => m.RedeliveryCount).ToListAsync());
        Assert.All(counts, count => Assert.Equal(1, count));
    }

    [Fact]
    public async Task Should_preview_an_unknown_group_as_zero_and_refuse_to_start_an_empty_operation()
    {
        var key = new { queue = NewQueue(), exceptionType = "System.InvalidOperationException" };

        var preview = await PostAsync(new { group = key, dryRun = true }, HttpStatusCode.OK);
        Assert.Equal(0, preview.GetProperty("count").GetInt32());

        var operationId = Guid.NewGuid();
        var refused = await PostAsync(new { group = key, confirm = true, operationId }, HttpStatusCode.UnprocessableEntity);
        Assert.Equal("Nothing to redeliver", refused.GetProperty("title").GetString());
        Assert.True(refused.GetProperty("errors").TryGetProperty("group", out _), refused.ToString());
        using var read = await _client.GetAsync(new Uri($"/api/bulk-operations/{operationId}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async Task Should_refuse_an_operation_id_that_already_names_another_kind_of_operation()
    {
        var operationId = Guid.NewGuid();
        await using (var scope = api.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
            db.Add(new BulkOperation { Id = operationId, Kind = BulkOperationKind.Cancel, RequestedBy = "spec", CreatedAt = DateTimeOffset.UtcNow, Status = BulkOperationStatus.Completed });
            await db.SaveChangesAsync();
        }

        await PostAsync(new { group = new { queue = NewQueue(), exceptionType = "X" }, confirm = true, operationId }, HttpStatusCode.Conflict);
    }

    public static TheoryData<string, string> BadRequests => new()
    {
        { """{"dryRun":true}""", "group" },
        { """{"group":{"queue":"q","exceptionType":"X"},"ids":["2f1b6f38-5a0e-4a53-9d2b-7c0e9d6b5a11"],"dryRun":true}""", "ids" },
        { """{"group":{"exceptionType":"X"},"dryRun":true}""", "group.queue" },
        { """{"group":{"queue":"q"},"dryRun":true}""", "group.exceptionType" },
        { """{"ids":[],"dryRun":true}""", "ids" },
        { """{"group":{"queue":"q","exceptionType":"X"},"operationId":"2f1b6f38-5a0e-4a53-9d2b-7c0e9d6b5a11"}""", "confirm" },
        { """{"group":{"queue":"q","exceptionType":"X"},"confirm":true}""", "operationId" },
        { """{"ids":["2f1b6f38-5a0e-4a53-9d2b-7c0e9d6b5a11"],"dryRun":true}""", "ids" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Should_refuse_bad_input_naming_the_field(string body, string key)
    {
        using var response = await _client.PostAsync(new Uri(Route, UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(key, out _), $"errors name {key}: {problem}");
    }

    [Fact]
    public async Task Should_refuse_more_ids_than_the_limit_and_name_unknown_ids()
    {
        var tooMany = Enumerable.Range(0, 1001).Select(_ => Guid.NewGuid()).ToArray();
        using var response = await _client.PostAsJsonAsync(Route, new { ids = tooMany, dryRun = true });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("At most 1,000 ids", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var known = await SeedAsync(NewQueue(), "System.InvalidOperationException", 1, DateTimeOffset.UtcNow, "known");
        var unknown = Guid.NewGuid();
        var refused = await PostAsync(new { ids = new[] { known[0].Id, unknown }, confirm = true, operationId = Guid.NewGuid() }, HttpStatusCode.BadRequest);
        var message = refused.GetProperty("errors").GetProperty("ids")[0].GetString();
        Assert.Contains(unknown.ToString(), message, StringComparison.Ordinal);
        Assert.DoesNotContain(known[0].Id.ToString(), message, StringComparison.Ordinal);
        Assert.Equal(0, await OperationCountAsync(BulkOperationKind.Redeliver, null, known[0].Queue));
    }

    private static string NewQueue() => "failed-groups-specs-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>A receive endpoint on the queue the seeded messages failed on: every message id it gets, repeats included.</summary>
    private async Task<ConcurrentQueue<Guid>> ListenAsync(string queue)
    {
        var received = new ConcurrentQueue<Guid>();
        var handle = api.Services.GetRequiredService<IBus>().ConnectReceiveEndpoint(queue, e => e.Handler<CheckWorker>(context =>
        {
            received.Enqueue(context.MessageId!.Value);
            return Task.CompletedTask;
        }));
        await handle.Ready;
        return received;
    }

    private async Task<List<FailedMessage>> SeedAsync(string queue, string exceptionType, int count, DateTimeOffset firstFaultedAt, string message, bool redelivered = false)
    {
        var rows = Enumerable.Range(1, count).Select(i =>
        {
            var messageId = NewId.NextGuid();
            var envelope = JsonSerializer.Serialize(new
            {
                messageId,
                messageType = new[] { MessageUrn.ForTypeString<CheckWorker>() },
                message = new { correlationId = Guid.NewGuid() },
                headers = new { },
            });
            return new FailedMessage
            {
                Id = NewId.NextGuid(),
                MessageId = messageId,
                MessageTypes = MessageUrn.ForTypeString<CheckWorker>(),
                Queue = queue,
                ExceptionType = exceptionType,
                ExceptionMessage = $"{message} #{i}",
                FaultedAt = firstFaultedAt.AddMinutes(i - 1),
                Body = Encoding.UTF8.GetBytes(envelope),
                ContentType = "application/vnd.masstransit+json",
                Headers = "{}",
                RedeliveredAt = redelivered ? firstFaultedAt.AddDays(1) : null,
                RedeliveryCount = redelivered ? 1 : 0,
            };
        }).ToList();
        await using var scope = api.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        db.AddRange(rows);
        await db.SaveChangesAsync();
        return rows;
    }

    private async Task<JsonElement> PostAsync(object body, HttpStatusCode expected)
    {
        using var response = await _client.PostAsJsonAsync(Route, body);
        var content = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode}: {content}");
        return content;
    }

    private async Task<JsonElement> GetOperationAsync(string path) => await _client.GetFromJsonAsync<JsonElement>(path);

    private Task<int> OperationCountAsync(string kind, Guid? id = null, string? queue = null) =>
        QueryAsync(db => db.Set<BulkOperation>().Where(o => o.Kind == kind && (id == null || o.Id == id) && (queue == null || o.Filter.Contains(queue))).CountAsync());

    private async Task<T> QueryAsync<T>(Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = api.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }
}
