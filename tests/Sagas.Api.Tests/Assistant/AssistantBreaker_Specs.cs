using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Breakers;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Modules.Breakers;

namespace Sagas.Api.Tests.Assistant;

/// <summary>The API on Anthropic with the breakers on, against a Messages stub that answers 500 until <see cref="Recover"/>.</summary>
public sealed class FailingClaudeApi : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string Model = "claude-breaker-model";

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));
    private int _failing = 1;

    public HttpStub Stub { get; private set; } = null!;

    /// <summary>Requests the stub answered 500, and the ones it answered, by question.</summary>
    public ConcurrentQueue<string> Failed { get; } = new();

    public ConcurrentQueue<string> Answered { get; } = new();

    public void Recover() => Volatile.Write(ref _failing, 0);

    public async Task InitializeAsync() => Stub = await HttpStub.StartAsync(app => app.MapPost("/v1/messages", async (HttpContext context) =>
    {
        context.Request.Body.Position = 0;
        var body = (await JsonNode.ParseAsync(context.Request.Body))!;
        var question = body["messages"]![0]!["content"] switch
        {
            JsonValue text => text.GetValue<string>(),
            JsonArray blocks => string.Concat(blocks.Select(b => b?["text"]?.GetValue<string>())),
            _ => "",
        };
        context.Response.ContentType = "application/json";
        if (Volatile.Read(ref _failing) == 1)
        {
            Failed.Enqueue(question);
            context.Response.StatusCode = 500;
            await context.Response.WriteAsync("""{"type":"error","error":{"type":"api_error","message":"Internal server error"}}""");
            return;
        }

        Answered.Enqueue(question);
        await context.Response.WriteAsync(new JsonObject
        {
            ["id"] = "msg_" + Guid.NewGuid().ToString("N")[..24],
            ["type"] = "message",
            ["role"] = "assistant",
            ["model"] = Model,
            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "Recovered answer." }),
            ["stop_reason"] = "end_turn",
            ["stop_sequence"] = null,
            ["usage"] = new JsonObject { ["input_tokens"] = 100, ["output_tokens"] = 10 },
        }.ToJsonString());
    }));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("Assistant:Provider", "anthropic");
        builder.UseSetting("Assistant:Anthropic:BaseUrl", Stub.BaseAddress.ToString().TrimEnd('/'));
        builder.UseSetting("Assistant:Anthropic:ApiKey", "sk-ant-breaker-test-0123456789");
        builder.UseSetting("Assistant:Anthropic:Model", Model);
        // The SDK's one retry: a question that reaches the stub costs two requests, one turned away costs none.
        builder.UseSetting("Assistant:Anthropic:MaxRetries", "1");
        builder.UseSetting("Breakers:Enabled", "true");
        builder.UseSetting("Breakers:ReportInterval", "00:00:00.050");
        builder.UseSetting("Breakers:Defaults:ConsecutiveFailures", "2");
        builder.UseSetting("Breakers:Defaults:FailureRatio", "0");
        builder.UseSetting("Breakers:Defaults:BreakDuration", "00:00:02");
    }

    async Task IAsyncLifetime.DisposeAsync() => await Stub.DisposeAsync();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

public sealed class When_the_assistant_meets_a_failing_model_with_breakers_on(FailingClaudeApi api) : IClassFixture<FailingClaudeApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_turn_questions_away_without_a_request_while_open_and_answer_after_a_probe_closes_it()
    {
        using var watch = new BreakerWatch();
        var breaker = api.Services.GetRequiredService<ProviderBreakers>().For("anthropic", FailingClaudeApi.Model);

        // Two questions fail on the model (each request and its SDK retry): two failures in a row open the breaker.
        foreach (var question in new[] { "first question, no tools", "second question, no tools" })
        {
            using var failed = await _client.PostAsJsonAsync("/ai/ask", new { prompt = question });
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        }

        Assert.Equal(4, api.Failed.Count);
        Assert.All(api.Failed.GroupBy(q => q), q => Assert.Equal(2, q.Count()));
        await BreakerWatch.UntilAsync(() => breaker.State == BreakerState.Open, TimeSpan.FromSeconds(30), () => $"the breaker to open (now {breaker.State})");

        // Open: answered at once without a request to the model, so no retry is spent; the caller is told it is the breaker.
        using (var turnedAway = await _client.PostAsJsonAsync("/ai/ask", new { prompt = "third question, no tools" }))
        {
            Assert.Equal(HttpStatusCode.BadGateway, turnedAway.StatusCode);
            var problem = await turnedAway.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains("circuit breaker", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(4, api.Failed.Count);
        Assert.Empty(api.Answered);
        Assert.Equal(1, watch.Rejected("anthropic", FailingClaudeApi.Model));

        // The model recovers; once the break has passed the next question is the probe, and it closes the breaker.
        api.Recover();
        var breakers = await _client.GetFromJsonAsync<JsonElement>("/api/system/breakers");
        var row = breakers.GetProperty("breakers").EnumerateArray().Single(b => b.GetProperty("provider").GetString() == "anthropic");
        var nextProbeAt = row.GetProperty("nextProbeAt").GetDateTimeOffset();
        await BreakerWatch.UntilAsync(() => DateTimeOffset.UtcNow >= nextProbeAt, TimeSpan.FromSeconds(30), () => $"the break to pass ({nextProbeAt:O})");
        using (var answered = await _client.PostAsJsonAsync("/ai/ask", new { prompt = "fourth question, no tools" }))
        {
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
            var answer = await answered.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("Recovered answer.", answer.GetProperty("answer").GetString());
        }

        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.Equal(["fourth question, no tools"], api.Answered);
        Assert.Equal(4, api.Failed.Count);
        var view = await _client.GetFromJsonAsync<JsonElement>("/api/system/breakers");
        Assert.Equal(
            [("closed", "open"), ("open", "half_open"), ("half_open", "closed")],
            view.GetProperty("transitions").EnumerateArray().Where(t => t.GetProperty("provider").GetString() == "anthropic")
                .Select(t => (t.GetProperty("from").GetString(), t.GetProperty("to").GetString())).Reverse());

        // Each question recorded with its outcome: the two the model answered 500 as refused (the provider's answer), the
        // one turned away as failed, the last one answered.
        JsonElement questions = default;
        await BreakerWatch.UntilAsync(
            async () => (questions = await _client.GetFromJsonAsync<JsonElement>("/api/assistant/questions")).GetProperty("total").GetInt32() == 4,
            TimeSpan.FromSeconds(30), () => $"four recorded questions; last: {questions}");
        Assert.Equal(
            ["refused", "refused", "failed", "answered"],
            questions.GetProperty("items").EnumerateArray().Select(q => q.GetProperty("outcome").GetString()).Reverse());
    }
}
