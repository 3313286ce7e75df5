using System.Net;
using System.Net.Http.Json;
using System.Net.Mime;
using System.Text;
using System.Text.Json;
using MassTransit;
using MassTransit.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Api.Tests.Hosting;
using Sagas.Contracts.Diagnostics;
using Sagas.Messaging.FailedMessages;
using Sagas.Persistence;

namespace Sagas.Api.Tests.FailedMessages;

/// <summary>
/// The failed-message routes on the embedded API (in-memory bus, SQLite): a message the check-worker endpoint cannot
/// read lands in <c>failed_messages</c> through the error pipe every endpoint gets, and a recorded message goes back
/// to its queue once.
/// </summary>
public sealed class When_failed_messages_are_listed_and_redelivered(EmbeddedApi api) : IClassFixture<EmbeddedApi>
{
    private const string CheckWorkerQueue = "check-worker";
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_list_a_message_the_endpoint_could_not_read_once_without_the_headers_redelivery_does_not_need()
    {
        var messageId = NewId.NextGuid();
        var endpoint = await Bus.GetSendEndpoint(new Uri($"queue:{CheckWorkerQueue}"));
        await endpoint.Send(new CheckWorker(Guid.NewGuid()), context =>
        {
            context.MessageId = messageId;
            context.Headers.Set("Authorization", "Bearer not-for-the-table");
            context.Headers.Set("MT-Specs-Kept", "kept");
            context.Serializer = new CopyBodySerializer(new ContentType("application/vnd.masstransit+json"), new StringMessageBody("{\"message\": "));
        });

        var listed = await WaitForAsync($"/api/system/failed-messages?queue={CheckWorkerQueue}", page => Items(page).Any(m => Id(m, "messageId") == messageId));

        var row = Items(listed).Single(m => Id(m, "messageId") == messageId);
        Assert.Equal(CheckWorkerQueue, row.GetProperty("queue").GetString());
        Assert.Contains("Serialization", row.GetProperty("exceptionType").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(row.GetProperty("exceptionMessage").GetString()));
        Assert.Equal("{\"message\": ".Length, row.GetProperty("bodyBytes").GetInt32());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("redeliveredAt").ValueKind);
        Assert.Equal(1, listed.GetProperty("page").GetInt32());
        Assert.Equal(50, listed.GetProperty("pageSize").GetInt32());

        var stored = await QueryAsync(db => db.Set<FailedMessage>().AsNoTracking().Where(m => m.MessageId == messageId).ToListAsync());
        var only = Assert.Single(stored);
        var headers = RedeliveryHeaders.Read(only.Headers);
        Assert.DoesNotContain("Authorization", headers.Keys);
        Assert.Equal("kept", headers["MT-Specs-Kept"]);

        // Another queue's filter does not show it.
        var other = await _client.GetFromJsonAsync<JsonElement>("/api/system/failed-messages?queue=no-such-queue");
        Assert.Equal(0, other.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Should_send_the_stored_message_back_to_its_queue_once_and_refuse_a_second_redelivery()
    {
        var queue = "failed-messages-specs-" + Guid.NewGuid().ToString("N")[..8];
        var received = new TaskCompletionSource<ConsumeContext<CheckWorker>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = Bus.ConnectReceiveEndpoint(queue, e => e.Handler<CheckWorker>(context =>
        {
            received.TrySetResult(context);
            return Task.CompletedTask;
        }));
        await handle.Ready;
        var correlationId = Guid.NewGuid();
        var failed = await SeedAsync(queue, correlationId);

        using var redelivered = await _client.PostAsync(new Uri($"/api/system/failed-messages/{failed.Id}/redeliver", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.OK, redelivered.StatusCode);
        var view = await redelivered.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(JsonValueKind.String, view.GetProperty("redeliveredAt").ValueKind);
        Assert.Equal(1, view.GetProperty("redeliveryCount").GetInt32());
        var consumed = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(correlationId, consumed.Message.CorrelationId);
        Assert.Equal(failed.MessageId, consumed.MessageId);
        // A transport header: the envelope's own headers are part of the stored body and stay as they were.
        Assert.Equal(failed.Id.ToString("D"), consumed.ReceiveContext.TransportHeaders.Get<string>(FailedMessageRedeliverer.RedeliveredFromHeader));

        using var again = await _client.PostAsync(new Uri($"/api/system/failed-messages/{failed.Id}/redeliver", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
        Assert.Equal(409, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetInt32());
        var row = await QueryAsync(db => db.Set<FailedMessage>().AsNoTracking().SingleAsync(m => m.Id == failed.Id));
        Assert.Equal(1, row.RedeliveryCount);
    }

    [Fact]
    public async Task Should_answer_an_unknown_id_with_a_404_problem()
    {
        using var response = await _client.PostAsync(new Uri($"/api/system/failed-messages/{Guid.NewGuid()}/redeliver", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(404, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Should_refuse_a_page_size_beyond_the_limit()
    {
        using var response = await _client.GetAsync(new Uri("/api/system/failed-messages?pageSize=501", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private IBus Bus => api.Services.GetRequiredService<IBus>();

    private static IEnumerable<JsonElement> Items(JsonElement page) => page.GetProperty("items").EnumerateArray();

    private static Guid Id(JsonElement item, string property) => item.GetProperty(property).GetGuid();

    private async Task<FailedMessage> SeedAsync(string queue, Guid correlationId)
    {
        var messageId = NewId.NextGuid();
        var envelope = JsonSerializer.Serialize(new
        {
            messageId,
            messageType = new[] { MessageUrn.ForTypeString<CheckWorker>() },
            message = new { correlationId },
            headers = new { },
        });
        var failed = new FailedMessage
        {
            Id = NewId.NextGuid(),
            MessageId = messageId,
            MessageTypes = MessageUrn.ForTypeString<CheckWorker>(),
            Queue = queue,
            ExceptionType = "System.InvalidOperationException",
            ExceptionMessage = "seeded",
            FaultedAt = DateTimeOffset.UtcNow,
            Body = Encoding.UTF8.GetBytes(envelope),
            ContentType = "application/vnd.masstransit+json",
            Headers = "{}",
        };
        await using var scope = api.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        db.Add(failed);
        await db.SaveChangesAsync();
        return failed;
    }

    private async Task<T> QueryAsync<T>(Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = api.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }

    private async Task<JsonElement> WaitForAsync(string path, Func<JsonElement, bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            using var response = await _client.GetAsync(new Uri(path, UriKind.Relative), deadline.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await response.Content.ReadFromJsonAsync<JsonElement>(deadline.Token);
            if (condition(page))
                return page;
            await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
        }
    }
}
