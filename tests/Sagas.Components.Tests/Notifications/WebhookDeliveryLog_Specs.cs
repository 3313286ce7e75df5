using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Contracts.LlmJobs;
using Sagas.Contracts.Notifications;
using Sagas.Modules.Api;
using Sagas.Notifications.Webhooks;
using Sagas.Persistence;
using Sagas.Persistence.Retention;

namespace Sagas.Components.Tests.Notifications;

/// <summary>What an operator reads about each endpoint: outcome, POSTs made (HTTP retries included), latency, the last error.</summary>
public sealed class When_deliveries_are_delivered_rejected_and_failed
{
    [Fact]
    public async Task Should_log_each_outcome_with_its_attempts_latency_and_error()
    {
        await using var flaky = await WebhookTestBed.StubAsync(call => call == 1 ? 500 : 200);
        await using var strict = await WebhookTestBed.StubAsync(_ => 400);
        await using var down = await WebhookTestBed.StubAsync(_ => 503);
        await using var bed = await WebhookTestBed.StartAsync(
            new WebhookTarget("flaky", flaky), new WebhookTarget("strict", strict), new WebhookTarget("down", down));

        await bed.Harness.Bus.Publish(new LlmJobFinished(Guid.NewGuid(), "completed", 1, 1, 0, 0, DateTimeOffset.UtcNow));
        Assert.True(await bed.Harness.Published.Any<Fault<DeliverWebhook>>());
        await bed.Harness.SettleAsync();

        var endpoints = await bed.InScopeAsync(s => s.GetRequiredService<WebhookDeliveryLog>().EndpointsAsync(CancellationToken.None));
        Assert.Equal(["flaky", "strict", "down"], endpoints.Select(e => e.Name));
        Assert.Equal(new WebhookDeliveryCounts(1, 0, 0, 0, 0), endpoints[0].Last24Hours);
        Assert.Equal(new WebhookDeliveryCounts(0, 1, 0, 0, 0), endpoints[1].Last24Hours);
        Assert.Equal(new WebhookDeliveryCounts(0, 0, 1, 0, 0), endpoints[2].Last24Hours);
        // The URL's path (often a receiver's token) is not shown.
        Assert.All(endpoints, e => Assert.DoesNotContain("hooks", e.Origin, StringComparison.Ordinal));
        Assert.StartsWith("http://127.0.0.1:", endpoints[0].Origin, StringComparison.Ordinal);
        Assert.NotNull(endpoints[0].AverageLatencyMs);
        Assert.Null(endpoints[2].AverageLatencyMs);

        var delivered = Assert.Single(await DeliveriesAsync(bed, "flaky"));
        Assert.Equal((WebhookDeliveryStatus.Delivered, 200, 2, (string?)null), (delivered.Status, delivered.StatusCode, delivered.Attempts, delivered.LastError));
        Assert.NotNull(delivered.LatencyMs);
        Assert.NotNull(delivered.SentAt);

        var rejected = Assert.Single(await DeliveriesAsync(bed, "strict"));
        Assert.Equal((WebhookDeliveryStatus.Rejected, 400, 1, "HTTP 400"), (rejected.Status, rejected.StatusCode, rejected.Attempts, rejected.LastError));

        var failed = Assert.Single(await DeliveriesAsync(bed, "down"));
        // (1 POST + 2 HTTP retries) × (1 delivery + 1 bus retry), as the receiver counted them.
        Assert.Equal((WebhookDeliveryStatus.Failed, (int?)null, down.Requests.Count, "HTTP 503"), (failed.Status, failed.StatusCode, failed.Attempts, failed.LastError));
        Assert.Equal(6, failed.Attempts);

        Assert.Empty(await DeliveriesAsync(bed, "down", WebhookDeliveryStatus.Delivered));
        Assert.Single(await DeliveriesAsync(bed, "down", WebhookDeliveryStatus.Failed));
        Assert.Null(await bed.InScopeAsync(s => s.GetRequiredService<WebhookDeliveryLog>().DeliveriesAsync("nobody", null, new Paging(1, 50), CancellationToken.None)));
    }

    internal static async Task<IReadOnlyList<WebhookDeliveryView>> DeliveriesAsync(WebhookTestBed bed, string endpoint, string? status = null) =>
        (await bed.InScopeAsync(s => s.GetRequiredService<WebhookDeliveryLog>().DeliveriesAsync(endpoint, status, new Paging(1, 50), CancellationToken.None)))!.Items;
}

public sealed class When_an_operator_sends_a_rejected_delivery_again
{
    [Fact]
    public async Task Should_queue_it_once_and_post_the_same_id_and_body_when_it_is_fixed()
    {
        var accept = 0;
        await using var stub = await WebhookTestBed.StubAsync(_ => Volatile.Read(ref accept) == 1 ? 204 : 410);
        await using var bed = await WebhookTestBed.StartAsync(new WebhookTarget("receiver", stub));
        await bed.Harness.Bus.Publish(new LlmJobFinished(Guid.NewGuid(), "failed", 2, 0, 2, 0, DateTimeOffset.UtcNow));
        await WebhookTestBed.WaitUntilAsync(() => stub.Requests.Count == 1);
        await bed.Harness.SettleAsync();
        var rejected = Assert.Single(await When_deliveries_are_delivered_rejected_and_failed.DeliveriesAsync(bed, "receiver"));
        Assert.Equal(WebhookDeliveryStatus.Rejected, rejected.Status);

        // Two operators press at once: one claim wins, the other finds it queued.
        var claims = await Task.WhenAll(ClaimAsync(bed, rejected.WebhookId), ClaimAsync(bed, rejected.WebhookId));
        var won = Assert.Single(claims, c => c.Outcome == WebhookRedeliveryOutcome.Queued);
        Assert.Single(claims, c => c.Outcome == WebhookRedeliveryOutcome.NotFailed && c.Status == WebhookDeliveryStatus.Queued);
        Assert.Equal(WebhookDeliveryStatus.Queued, Assert.Single(await When_deliveries_are_delivered_rejected_and_failed.DeliveriesAsync(bed, "receiver")).Status);

        Volatile.Write(ref accept, 1);
        await bed.Harness.Bus.Publish(won.Message!);
        await WebhookTestBed.WaitUntilAsync(() => stub.Requests.Count == 2);
        await bed.Harness.SettleAsync();

        var requests = stub.Requests.ToArray();
        Assert.Equal(requests[0].Headers["webhook-id"], requests[1].Headers["webhook-id"]);
        Assert.Equal(requests[0].Body, requests[1].Body);
        var delivered = Assert.Single(await When_deliveries_are_delivered_rejected_and_failed.DeliveriesAsync(bed, "receiver"));
        Assert.Equal((WebhookDeliveryStatus.Delivered, 204, 2, (string?)null), (delivered.Status, delivered.StatusCode, delivered.Attempts, delivered.LastError));

        var again = await ClaimAsync(bed, rejected.WebhookId);
        Assert.Equal((WebhookRedeliveryOutcome.NotFailed, WebhookDeliveryStatus.Delivered), (again.Outcome, again.Status));
        Assert.Equal(WebhookRedeliveryOutcome.NotFound, (await ClaimAsync(bed, "msg_nothing")).Outcome);
    }

    // Each claim in its own scope and transaction, as two API requests.
    private static Task<WebhookRedeliveryClaim> ClaimAsync(WebhookTestBed bed, string webhookId) =>
        bed.InScopeAsync(async s =>
        {
            var db = s.GetRequiredService<SagasDbContext>();
            await using var transaction = await db.Database.BeginTransactionAsync();
            var claim = await s.GetRequiredService<WebhookDeliveryLog>().ClaimForRedeliveryAsync(webhookId, CancellationToken.None);
            await transaction.CommitAsync();
            return claim;
        });
}

public sealed class When_webhook_deliveries_are_past_their_retention
{
    [Fact]
    public async Task Should_delete_old_rows_but_not_one_still_being_posted()
    {
        await using var stub = await WebhookTestBed.StubAsync(_ => 200);
        await using var bed = await WebhookTestBed.StartAsync(new WebhookTarget("receiver", stub));
        var now = DateTimeOffset.UtcNow;
        await bed.InScopeAsync(async s =>
        {
            var db = s.GetRequiredService<SagasDbContext>();
            db.AddRange(
                Row("old-sent", now.AddDays(-40), sentAt: now.AddDays(-40), claimedUntil: now.AddDays(-40)),
                Row("old-failed", now.AddDays(-40), sentAt: null, claimedUntil: now.AddDays(-39)),
                Row("old-posting", now.AddDays(-40), sentAt: null, claimedUntil: now.AddMinutes(5)),
                Row("recent", now.AddDays(-1), sentAt: now.AddDays(-1), claimedUntil: now.AddDays(-1)));
            return await db.SaveChangesAsync();
        });

        var deleted = await bed.InScopeAsync(s => s.GetRequiredService<WebhookDeliveriesRetention>()
            .DeleteBatchAsync(new RetentionBatch(now.AddDays(-30), 100), CancellationToken.None));

        Assert.Equal(2, deleted.Deleted);
        var left = await bed.InScopeAsync(s => s.GetRequiredService<SagasDbContext>().Set<WebhookDelivery>().Select(d => d.WebhookId).OrderBy(id => id).ToListAsync());
        Assert.Equal(["old-posting", "recent"], left);
    }

    private static WebhookDelivery Row(string id, DateTimeOffset createdAt, DateTimeOffset? sentAt, DateTimeOffset claimedUntil) => new()
    {
        WebhookId = id,
        Endpoint = "receiver",
        EventType = "llm-job.finished",
        CreatedAt = createdAt,
        SentAt = sentAt,
        StatusCode = sentAt is null ? null : 200,
        ClaimedUntil = claimedUntil,
        Attempts = 1,
        Body = "{}",
    };
}
