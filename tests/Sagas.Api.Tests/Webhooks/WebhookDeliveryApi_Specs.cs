using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Contracts.ScanSessions;

namespace Sagas.Api.Tests.Webhooks;

/// <summary>
/// The webhook endpoint routes on the embedded API (in-memory bus, SQLite, every role in process): a receiver that
/// rejects an event, the operator seeing it, the receiver fixed, the delivery sent again through the outbox.
/// </summary>
public sealed class When_an_operator_looks_at_a_webhook_endpoint_and_sends_a_rejected_delivery_again : IAsyncLifetime
{
    private HttpStub _receiver = null!;
    private WebhookApi _api = null!;
    private HttpClient _client = null!;
    private int _accept;

    public async Task InitializeAsync()
    {
        _receiver = await HttpStub.StartAsync(app => app.MapPost("/hooks/secret-path-token", () =>
            Results.StatusCode(Volatile.Read(ref _accept) == 1 ? StatusCodes.Status200OK : StatusCodes.Status422UnprocessableEntity)));
        _api = new WebhookApi(new Uri(_receiver.BaseAddress, "hooks/secret-path-token"));
        _client = _api.CreateClient();
    }

    [Fact]
    public async Task Should_list_the_rejection_queue_it_again_once_and_show_it_delivered()
    {
        var bus = _api.Services.GetRequiredService<IBus>();
        await bus.Publish(new ScanSessionFailed(Guid.NewGuid(), "unreadable source"));

        var rejected = await WaitForAsync("/api/system/webhooks/receiver/deliveries?status=rejected", page => page.GetProperty("total").GetInt32() == 1);
        var row = rejected.GetProperty("items")[0];
        var webhookId = row.GetProperty("webhookId").GetString()!;
        Assert.Equal("scan-session.failed", row.GetProperty("eventType").GetString());
        Assert.Equal(422, row.GetProperty("statusCode").GetInt32());
        Assert.Equal(1, row.GetProperty("attempts").GetInt32());
        Assert.Equal("HTTP 422", row.GetProperty("lastError").GetString());
        Assert.Equal(JsonValueKind.Number, row.GetProperty("latencyMs").ValueKind);

        var endpoints = await _client.GetFromJsonAsync<JsonElement>("/api/system/webhooks");
        var endpoint = Assert.Single(endpoints.GetProperty("endpoints").EnumerateArray());
        Assert.Equal("receiver", endpoint.GetProperty("name").GetString());
        Assert.Equal(_receiver.BaseAddress.GetLeftPart(UriPartial.Authority), endpoint.GetProperty("origin").GetString());
        Assert.Equal(1, endpoint.GetProperty("last24Hours").GetProperty("rejected").GetInt32());
        Assert.DoesNotContain("secret-path-token", endpoints.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("whsec_", endpoints.GetRawText(), StringComparison.Ordinal);

        Volatile.Write(ref _accept, 1);
        using var queued = await _client.PostAsync(new Uri($"/api/system/webhooks/deliveries/{webhookId}/redeliver", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Accepted, queued.StatusCode);
        Assert.Equal("queued", (await queued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());

        var delivered = await WaitForAsync("/api/system/webhooks/receiver/deliveries?status=delivered", page => page.GetProperty("total").GetInt32() == 1);
        var sent = delivered.GetProperty("items")[0];
        Assert.Equal((200, 2), (sent.GetProperty("statusCode").GetInt32(), sent.GetProperty("attempts").GetInt32()));
        var posts = _receiver.Requests.ToArray();
        Assert.Equal(2, posts.Length);
        Assert.Equal(posts[0].Headers["webhook-id"], posts[1].Headers["webhook-id"]);
        Assert.Equal(posts[0].Body, posts[1].Body);

        using var again = await _client.PostAsync(new Uri($"/api/system/webhooks/deliveries/{webhookId}/redeliver", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("is delivered", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/system/webhooks/nobody/deliveries", HttpStatusCode.NotFound, "nobody")]
    [InlineData("/api/system/webhooks/receiver/deliveries?status=lost", HttpStatusCode.BadRequest, "status must be one of delivered, rejected, failed, sending, queued")]
    [InlineData("/api/system/webhooks/receiver/deliveries?pageSize=100000", HttpStatusCode.BadRequest, "pageSize")]
    [InlineData("/api/system/webhooks/receiver/deliveries?page=0", HttpStatusCode.BadRequest, "page starts at 1")]
    public async Task Should_answer_bad_reads_with_a_problem_naming_it(string path, HttpStatusCode status, string named)
    {
        using var response = await _client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(status, response.StatusCode);
        Assert.Contains(named, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_answer_an_empty_page_for_a_filter_matching_nothing_and_404_for_an_unknown_delivery()
    {
        var empty = await _client.GetFromJsonAsync<JsonElement>("/api/system/webhooks/receiver/deliveries?status=sending");
        Assert.Equal(0, empty.GetProperty("total").GetInt32());
        Assert.Empty(empty.GetProperty("items").EnumerateArray());

        using var unknown = await _client.PostAsync(new Uri("/api/system/webhooks/deliveries/msg_nothing/redeliver", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var huge = await _client.PostAsync(new Uri($"/api/system/webhooks/deliveries/{new string('x', 5000)}/redeliver", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NotFound, huge.StatusCode);
    }

    private async Task<JsonElement> WaitForAsync(string path, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var page = await _client.GetFromJsonAsync<JsonElement>(path);
            if (done(page))
                return page;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{path} did not reach the expected state within 30 s: {page.GetRawText()}");
            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _api.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    private sealed class WebhookApi(Uri receiver) : WebApplicationFactory<Program>
    {
        private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("Database:DataDirectory", _dataDirectory);
            builder.UseSetting("Notifications:Webhooks:0:Name", "receiver");
            builder.UseSetting("Notifications:Webhooks:0:Url", receiver.ToString());
            builder.UseSetting("Notifications:Webhooks:0:Secret", "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
            builder.UseSetting("Notifications:RetryBaseDelay", "00:00:00.050");
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing && Directory.Exists(_dataDirectory))
                Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}
