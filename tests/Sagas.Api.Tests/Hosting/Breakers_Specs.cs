using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Breakers;
using Sagas.Modules.Breakers;

namespace Sagas.Api.Tests.Hosting;

/// <summary>The embedded API with its breakers set as <see cref="Enabled"/> says; the calls are counted straight on the breakers.</summary>
public abstract class BreakersApi(bool enabled) : WebApplicationFactory<Program>
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));

    public bool Enabled => enabled;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("Breakers:Enabled", enabled ? "true" : "false");
        builder.UseSetting("Breakers:ReportInterval", "00:00:00.050");
        builder.UseSetting("Breakers:Defaults:ConsecutiveFailures", "2");
        builder.UseSetting("Breakers:Defaults:FailureRatio", "0");
        // No breaker half-opens during a spec on its own.
        builder.UseSetting("Breakers:Defaults:BreakDuration", "00:10:00");
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

public sealed class BreakersOnApi() : BreakersApi(enabled: true);

public sealed class BreakersOffApi() : BreakersApi(enabled: false);

public sealed class When_breakers_are_off_the_breaker_routes(BreakersOffApi api) : IClassFixture<BreakersOffApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_list_no_breaker_and_say_they_are_off_even_after_failed_calls()
    {
        var breaker = api.Services.GetRequiredService<ProviderBreakers>().For("gemini", "gemini-off");
        breaker.Record(failed: true);
        breaker.Record(failed: true);
        breaker.Record(failed: true);

        var view = await _client.GetFromJsonAsync<JsonElement>("/api/system/breakers");

        Assert.False(view.GetProperty("enabled").GetBoolean());
        Assert.Empty(view.GetProperty("breakers").EnumerateArray());
        Assert.Empty(view.GetProperty("transitions").EnumerateArray());
        Assert.Equal(BreakerState.Closed, breaker.State);
    }

    [Theory]
    [InlineData("gemini", "gemini-off")]
    [InlineData("openai", "-")]
    public async Task Should_answer_every_reset_404(string provider, string model)
    {
        using var response = await _client.PostAsync($"/api/system/breakers/{provider}/{model}/reset", null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}

public sealed class When_breakers_are_on_the_breaker_routes(BreakersOnApi api) : IClassFixture<BreakersOnApi>
{
    private readonly HttpClient _client = api.CreateClient();

    private ProviderBreakers Breakers => api.Services.GetRequiredService<ProviderBreakers>();

    [Fact]
    public async Task Should_list_each_breaker_with_its_counts_and_the_transitions_newest_first()
    {
        var failing = Breakers.For("gemini", "gemini-list");
        failing.Record(failed: false);
        failing.Record(failed: true);
        failing.Record(failed: true);
        Breakers.For("claude", null).Record(failed: false);

        var view = await WaitForAsync(v => Row(v, "gemini", "gemini-list") is { } row && row.GetProperty("state").GetString() == "open" && Row(v, "claude", "") is not null);

        Assert.True(view.GetProperty("enabled").GetBoolean());
        Assert.Equal(50, view.GetProperty("reportIntervalMs").GetInt32());
        var open = Row(view, "gemini", "gemini-list")!.Value;
        Assert.Equal((3L, 2L), (open.GetProperty("totalCalls").GetInt64(), open.GetProperty("totalFailures").GetInt64()));
        Assert.Equal(JsonValueKind.String, open.GetProperty("openedAt").ValueKind);
        var openedAt = open.GetProperty("openedAt").GetDateTimeOffset();
        Assert.Equal(openedAt + TimeSpan.FromMinutes(10), open.GetProperty("nextProbeAt").GetDateTimeOffset());
        Assert.Equal((1, "FailFast"), (open.GetProperty("probeCount").GetInt32(), open.GetProperty("onOpen").GetString()));
        var closed = Row(view, "claude", "")!.Value;
        Assert.Equal(("closed", 1L, 0L), (closed.GetProperty("state").GetString(), closed.GetProperty("totalCalls").GetInt64(), closed.GetProperty("totalFailures").GetInt64()));
        Assert.Equal(JsonValueKind.Null, closed.GetProperty("openedAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, closed.GetProperty("nextProbeAt").ValueKind);

        var transition = Assert.Single(view.GetProperty("transitions").EnumerateArray(), t => t.GetProperty("model").GetString() == "gemini-list");
        Assert.Equal(("gemini", "closed", "open"), (transition.GetProperty("provider").GetString(), transition.GetProperty("from").GetString(), transition.GetProperty("to").GetString()));
        Assert.False(string.IsNullOrEmpty(transition.GetProperty("reason").GetString()));
        Assert.Equal(openedAt, transition.GetProperty("at").GetDateTimeOffset());
    }

    [Fact]
    public async Task Should_close_an_open_breaker_on_reset_and_list_the_transition()
    {
        var breaker = Breakers.For("gemini", "gemini-reset");
        breaker.Record(failed: true);
        breaker.Record(failed: true);
        await WaitForAsync(v => Row(v, "gemini", "gemini-reset")?.GetProperty("state").GetString() == "open");
        Assert.Equal(BreakerState.Open, breaker.State);

        using var response = await _client.PostAsync("/api/system/breakers/gemini/gemini-reset/reset", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reset = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("gemini", "gemini-reset", "closed"), (reset.GetProperty("provider").GetString(), reset.GetProperty("model").GetString(), reset.GetProperty("state").GetString()));
        Assert.Equal(JsonValueKind.Null, reset.GetProperty("nextProbeAt").ValueKind);
        // This process closes at once; the others within one report interval.
        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.Equal(BreakerPermit.Call, await breaker.EnterAsync(CancellationToken.None));
        var view = await _client.GetFromJsonAsync<JsonElement>("/api/system/breakers");
        Assert.Equal("closed", Row(view, "gemini", "gemini-reset")!.Value.GetProperty("state").GetString());
        var latest = view.GetProperty("transitions").EnumerateArray().First(t => t.GetProperty("model").GetString() == "gemini-reset");
        Assert.Equal(("open", "closed"), (latest.GetProperty("from").GetString(), latest.GetProperty("to").GetString()));
    }

    [Fact]
    public async Task Should_reset_a_providers_own_breaker_through_model_dash()
    {
        var breaker = Breakers.For("perplexity", null);
        breaker.Record(failed: true);
        breaker.Record(failed: true);
        await WaitForAsync(v => Row(v, "perplexity", "")?.GetProperty("state").GetString() == "open");

        using var response = await _client.PostAsync("/api/system/breakers/perplexity/-/reset", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reset = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("perplexity", "", "closed"), (reset.GetProperty("provider").GetString(), reset.GetProperty("model").GetString(), reset.GetProperty("state").GetString()));
        Assert.Equal(BreakerState.Closed, breaker.State);
    }

    [Theory]
    [InlineData("no-such-provider", "-")]
    [InlineData("gemini", "no-such-model")]
    [InlineData("GEMINI", "gemini-known")]
    [InlineData("gemini%2Fgemini-known", "-")]
    public async Task Should_answer_404_for_a_breaker_never_recorded(string provider, string model)
    {
        Breakers.For("gemini", "gemini-known").Record(failed: false);
        await WaitForAsync(v => Row(v, "gemini", "gemini-known") is not null);

        using var response = await _client.PostAsync($"/api/system/breakers/{provider}/{model}/reset", null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        // Asking never creates a breaker.
        Assert.DoesNotContain(Breakers.Known, b => b.Key == new BreakerKey(provider, model == "-" ? "" : model));
        var view = await _client.GetFromJsonAsync<JsonElement>("/api/system/breakers");
        Assert.Null(Row(view, provider, model == "-" ? "" : model));
    }

    [Theory]
    [InlineData("%20", "-", "provider")]
    [InlineData("gemini", "%20%20", "model")]
    [InlineData("gem%01ini", "-", "provider")]
    [InlineData("gemini", "model%0Aname", "model")]
    [InlineData("PROVIDER65", "-", "provider")]
    [InlineData("gemini", "MODEL129", "model")]
    public async Task Should_answer_400_naming_a_path_segment_no_breaker_could_have(string provider, string model, string field)
    {
        provider = provider == "PROVIDER65" ? new string('p', 65) : provider;
        model = model == "MODEL129" ? new string('m', 129) : model;

        using var response = await _client.PostAsync($"/api/system/breakers/{provider}/{model}/reset", null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Theory]
    [InlineData("GET", "/api/system/breakers/gemini/-/reset")]
    [InlineData("POST", "/api/system/breakers/gemini/reset")]
    [InlineData("POST", "/api/system/breakers/gemini/a/b/reset")]
    [InlineData("DELETE", "/api/system/breakers")]
    public async Task Should_answer_a_4xx_for_a_route_shape_it_does_not_have(string method, string path)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.InRange((int)response.StatusCode, 400, 499);
    }

    private static JsonElement? Row(JsonElement view, string provider, string model) =>
        view.GetProperty("breakers").EnumerateArray()
            .Where(b => b.GetProperty("provider").GetString() == provider && b.GetProperty("model").GetString() == model)
            .Select(b => (JsonElement?)b).SingleOrDefault();

    private async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> condition)
    {
        JsonElement view = default;
        await BreakerWatch.UntilAsync(
            async () => condition(view = await _client.GetFromJsonAsync<JsonElement>("/api/system/breakers")),
            TimeSpan.FromSeconds(30), () => $"the breakers to show the expected state; last: {view}");
        return view;
    }
}
