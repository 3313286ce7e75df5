using System.Security.Cryptography;
using System.Text.Json;
using System.Text;
using MassTransit;
using MassTransit.Testing;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Contracts.LlmJobs;
using Sagas.Contracts.Notifications;
using Sagas.Contracts.ScanSessions;
using Sagas.Core.Webhooks;
using Sagas.LlmJobs.Webhooks;
using Sagas.Notifications.Webhooks;
using Sagas.ScanSessions.Webhooks;

namespace Sagas.Components.Tests.Notifications;

public sealed class When_an_llm_job_finishes_with_a_webhook_configured
{
    [Fact]
    public async Task Should_post_a_standard_webhooks_signature_a_receiver_can_verify()
    {
        await using var stub = await WebhookTestBed.StubAsync(_ => 200);
        await using var bed = await WebhookTestBed.StartAsync(new WebhookTarget("billing", stub));
        var job = Guid.NewGuid();
        var finishedAt = new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

        await bed.Harness.Bus.Publish(new LlmJobFinished(job, "completed", 10, 8, 1, 1, finishedAt));
        await WebhookTestBed.WaitUntilAsync(() => stub.Requests.Count == 1);

        var request = stub.Requests.Single();
        var id = request.Headers["webhook-id"];
        var timestamp = request.Headers["webhook-timestamp"];
        // Computed here from the received bytes alone, as a receiver would.
        var expected = "v1," + Convert.ToBase64String(
            new HMACSHA256(WebhookTestBed.Key).ComputeHash(Encoding.UTF8.GetBytes($"{id}.{timestamp}.{request.Body}")));
        Assert.Equal(expected, request.Headers["webhook-signature"]);
        Assert.Equal(WebhookSignatureCheck.Valid, StandardWebhooks.Verify(
            WebhookTestBed.Key, id, timestamp, request.Headers["webhook-signature"], Encoding.UTF8.GetBytes(request.Body), DateTimeOffset.UtcNow));
        Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.InRange(long.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds());

        using var body = JsonDocument.Parse(request.Body);
        var root = body.RootElement;
        Assert.Equal("llm-job.finished", root.GetProperty("type").GetString());
        Assert.Equal(id, root.GetProperty("id").GetString());
        Assert.Equal(finishedAt, root.GetProperty("timestamp").GetDateTimeOffset());
        var data = root.GetProperty("data");
        Assert.Equal(job, data.GetProperty("jobId").GetGuid());
        Assert.Equal("completed", data.GetProperty("status").GetString());
        Assert.Equal(10, data.GetProperty("totalItems").GetInt32());
        Assert.Equal(8, data.GetProperty("succeededItems").GetInt32());
        Assert.Equal(1, data.GetProperty("failedItems").GetInt32());
        Assert.Equal(1, data.GetProperty("cancelledItems").GetInt32());
    }
}

public sealed class When_endpoints_filter_events
{
    [Fact]
    public async Task Should_post_each_endpoint_only_the_events_it_asked_for()
    {
        await using var failuresOnly = await WebhookTestBed.StubAsync(_ => 204);
        await using var everything = await WebhookTestBed.StubAsync(_ => 204);
        await using var bed = await WebhookTestBed.StartAsync(
            new WebhookTarget("failures", failuresOnly, ScanSessionWebhooks.Failed),
            new WebhookTarget("everything", everything));

        await bed.Harness.Bus.Publish(new LlmJobFinished(Guid.NewGuid(), "completed", 1, 1, 0, 0, DateTimeOffset.UtcNow));
        await bed.Harness.Bus.Publish(new ScanSessionFailed(Guid.NewGuid(), "no files"));
        await WebhookTestBed.WaitUntilAsync(() => bed.Harness.Consumed.Now<DeliverWebhook>().Count() == 3);

        Assert.Equal(3, bed.Harness.Published.Now<DeliverWebhook>().Count());
        Assert.Equal(["scan-session.failed"], failuresOnly.Requests.Select(TypeOf));
        Assert.Equal(["llm-job.finished", "scan-session.failed"], everything.Requests.Select(TypeOf).Order());
    }

    private static string? TypeOf(RecordedRequest request) => JsonDocument.Parse(request.Body).RootElement.GetProperty("type").GetString();
}

public sealed class When_the_same_event_is_delivered_twice
{
    /// <summary>
    /// The outbox publishes an event again after a crash between publish and delete (same message id), the broker
    /// redelivers, or the event's consumer runs twice: every copy fans out a delivery, and the receiver is posted once.
    /// </summary>
    [Fact]
    public async Task Should_post_it_once()
    {
        await using var stub = await WebhookTestBed.StubAsync(_ => 200);
        await using var bed = await WebhookTestBed.StartAsync(new WebhookTarget("crm", stub));
        var finished = new LlmJobFinished(Guid.NewGuid(), "failed", 3, 0, 3, 0, DateTimeOffset.UtcNow);
        var messageId = NewId.NextGuid();

        // One copy after the other, as an outbox row published again arrives after the first was handled.
        var copies = 0;
        foreach (var id in new Guid?[] { messageId, messageId, null })
        {
            await bed.Harness.Bus.Publish(finished, context => context.MessageId = id ?? NewId.NextGuid());
            copies++;
            await WebhookTestBed.WaitUntilAsync(() => bed.Harness.Consumed.Now<DeliverWebhook>().Count() == copies);
        }

        var requests = stub.Requests.ToArray();
        Assert.Single(requests);
        Assert.All(bed.Harness.Consumed.Now<DeliverWebhook>(), consumed => Assert.Null(consumed.Exception));
    }

    [Fact]
    public async Task Should_give_different_endpoints_and_different_jobs_different_ids()
    {
        var job = Guid.NewGuid();

        var first = WebhookIds.For(LlmJobWebhooks.Finished, job, "crm");
        Assert.Equal(first, WebhookIds.For(LlmJobWebhooks.Finished, job, "crm"));
        Assert.NotEqual(first, WebhookIds.For(LlmJobWebhooks.Finished, job, "billing"));
        Assert.NotEqual(first, WebhookIds.For(LlmJobWebhooks.Finished, Guid.NewGuid(), "crm"));
        Assert.NotEqual(first, WebhookIds.For(ScanSessionWebhooks.Failed, job, "crm"));
    }
}

public sealed class When_a_receiver_fails_once_then_accepts
{
    [Fact]
    public async Task Should_retry_and_deliver_once()
    {
        await using var stub = await WebhookTestBed.StubAsync(call => call == 1 ? 500 : 200);
        await using var bed = await WebhookTestBed.StartAsync(new WebhookTarget("flaky", stub));

        await bed.Harness.Bus.Publish(new ScanSessionCompleted(Guid.NewGuid(), "reports/x.xlsx", 4, 100));
        Assert.True(await bed.Harness.Consumed.Any<DeliverWebhook>());

        await bed.Harness.SettleAsync();
        var consumed = bed.Harness.Consumed.Now<DeliverWebhook>().ToList();
        Assert.Single(consumed);
        Assert.Null(consumed[0].Exception);
        var requests = stub.Requests.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.Equal(requests[0].Headers["webhook-id"], requests[1].Headers["webhook-id"]);
        Assert.DoesNotContain("reports/x.xlsx", requests[1].Body, StringComparison.Ordinal);
    }
}

public sealed class When_a_receiver_rejects_the_webhook
{
    [Fact]
    public async Task Should_give_up_at_once_without_a_fault()
    {
        await using var stub = await WebhookTestBed.StubAsync(_ => 400);
        await using var bed = await WebhookTestBed.StartAsync(new WebhookTarget("strict", stub));

        await bed.Harness.Bus.Publish(new ScanSessionFailed(Guid.NewGuid(), "unreadable source"));
        Assert.True(await bed.Harness.Consumed.Any<DeliverWebhook>());

        await bed.Harness.SettleAsync();
        var consumed = bed.Harness.Consumed.Now<DeliverWebhook>().ToList();
        Assert.Single(consumed);
        Assert.Null(consumed[0].Exception);
        Assert.Single(stub.Requests);
        Assert.False(await bed.Harness.Published.Any<Fault<DeliverWebhook>>());
    }
}

public sealed class When_one_endpoint_is_down
{
    [Fact]
    public async Task Should_deliver_to_the_other_once_and_fault_only_the_failing_delivery()
    {
        await using var down = await WebhookTestBed.StubAsync(_ => 503);
        await using var up = await WebhookTestBed.StubAsync(_ => 200);
        await using var bed = await WebhookTestBed.StartAsync(new WebhookTarget("down", down), new WebhookTarget("up", up));

        await bed.Harness.Bus.Publish(new LlmJobFinished(Guid.NewGuid(), "completed", 1, 1, 0, 0, DateTimeOffset.UtcNow));
        Assert.True(await bed.Harness.Published.Any<Fault<DeliverWebhook>>());

        await WebhookTestBed.WaitUntilAsync(() => bed.Harness.Consumed.Now<DeliverWebhook>(c => c.Context.Message.Endpoint == "up").Any());

        await bed.Harness.SettleAsync();
        var fault = Assert.Single(bed.Harness.Published.Now<Fault<DeliverWebhook>>());
        Assert.Equal("down", fault.Context.Message.Message.Endpoint);
        // (1 attempt + 2 HTTP retries) × (1 delivery + 1 bus retry); the other endpoint got the event exactly once.
        Assert.Equal(6, down.Requests.Count);
        Assert.Single(up.Requests);
        var fanOut = Assert.Single(bed.Harness.Consumed.Now<LlmJobFinished>());
        Assert.Null(fanOut.Exception);
    }
}

public sealed class When_a_delivery_names_an_endpoint_no_longer_configured
{
    [Fact]
    public async Task Should_drop_it_without_posting_or_faulting()
    {
        await using var stub = await WebhookTestBed.StubAsync(_ => 200);
        await using var bed = await WebhookTestBed.StartAsync(new WebhookTarget("current", stub));

        await bed.Harness.Bus.Publish(new DeliverWebhook("removed", "msg_0", ScanSessionWebhooks.Failed, "{}"));
        Assert.True(await bed.Harness.Consumed.Any<DeliverWebhook>());

        await bed.Harness.SettleAsync();
        Assert.Null(Assert.Single(bed.Harness.Consumed.Now<DeliverWebhook>()).Exception);
        Assert.Empty(stub.Requests);
    }
}
