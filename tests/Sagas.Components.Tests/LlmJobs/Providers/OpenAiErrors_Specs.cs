using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Sagas.Components.Tests.Infrastructure;
using Sagas.LlmJobs.Providers;

namespace Sagas.Components.Tests.LlmJobs.Providers;

public sealed class When_OpenAI_answers_429_rate_limited : IAsyncLifetime
{
    private HttpStub _stub = null!;
    private LlmProviderException _exception = null!;

    public async Task InitializeAsync()
    {
        _stub = await HttpStub.StartAsync(app => app.MapPost("/v1/responses", context => OpenAiStub.Write(
            context,
            429,
            OpenAiStub.Error("Rate limit reached for gpt-6-luna on tokens per min (TPM): Limit 200000, Used 199812, Requested 900.", "tokens", "rate_limit_exceeded"),
            ("x-ratelimit-limit-requests", "10000"),
            ("x-ratelimit-remaining-requests", "9958"),
            ("x-ratelimit-reset-requests", "6m0s"),
            ("x-ratelimit-limit-tokens", "200000"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "1.5s"),
            ("retry-after", "2"))));

        // Retry-After (2 s) is longer than MaxDelay: the provider must give up at once and hand the wait to the caller.
        var provider = OpenAiStub.Provider(_stub.BaseAddress, o => o.Retry = new LlmRetrySettings { MaxRetryAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(500) });
        _exception = await Assert.ThrowsAsync<LlmProviderException>(() => provider.SubmitItemAsync(OpenAiStub.Item("item-1"), CancellationToken.None));
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public void Should_be_transient_with_the_providers_code_and_message()
    {
        Assert.True(_exception.IsTransient);
        Assert.Equal(429, _exception.Error.StatusCode);
        Assert.Equal("rate_limit_exceeded", _exception.Error.Code);
        Assert.StartsWith("Rate limit reached for gpt-6-luna", _exception.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_parse_every_rate_limit_header()
    {
        var rateLimit = _exception.RateLimit;
        Assert.Equal(
            (10000L, 9958L, TimeSpan.FromMinutes(6), 200000L, 0L, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(2)),
            (rateLimit.RequestLimit, rateLimit.RemainingRequests, rateLimit.RequestsResetAt - rateLimit.ObservedAt,
                rateLimit.TokenLimit, rateLimit.RemainingTokens, rateLimit.TokensResetAt - rateLimit.ObservedAt, rateLimit.RetryAfter));
        Assert.Equal(TimeSpan.FromSeconds(2), _exception.Error.RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(2), _exception.RateLimit.SuggestedDelay);
    }

    [Fact]
    public void Should_not_wait_in_process_for_a_retry_after_longer_than_the_max_delay() =>
        Assert.Equal(1, _stub.Count("POST", "/v1/responses"));

    [Fact]
    public void Should_never_show_the_api_key() =>
        Assert.DoesNotContain(OpenAiStub.ApiKey, _exception.ToString(), StringComparison.Ordinal);
}

public sealed class When_OpenAI_rate_limits_once_and_then_answers : IAsyncLifetime
{
    private HttpStub _stub = null!;
    private LlmItemOutcome _outcome = null!;
    private Sagas.LlmJobs.Providers.OpenAi.OpenAiLlmJobProvider _provider = null!;

    public async Task InitializeAsync()
    {
        var calls = 0;
        _stub = await HttpStub.StartAsync(app => app.MapGet("/v1/responses/{id}", (HttpContext context, string id) =>
            Interlocked.Increment(ref calls) == 1
                ? OpenAiStub.Write(context, 429, OpenAiStub.Error("Rate limit reached for requests", "requests", "rate_limit_exceeded"), ("retry-after-ms", "20"), ("retry-after", "1"))
                : OpenAiStub.Write(context, 200, OpenAiStub.Response(id, "completed", OpenAiStub.Decision()), ("x-ratelimit-remaining-requests", "41"), ("x-ratelimit-reset-requests", "12ms"))));
        _provider = OpenAiStub.Provider(_stub.BaseAddress, o => o.Retry = new LlmRetrySettings { MaxRetryAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromSeconds(5) });
        _outcome = await _provider.GetItemAsync("resp_0001", CancellationToken.None);
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public void Should_retry_after_the_requested_wait_and_succeed()
    {
        Assert.Equal(2, _stub.Count("GET", "/v1/responses/resp_0001"));
        Assert.Equal(LlmItemStatus.Succeeded, _outcome.Status);
    }

    [Fact]
    public void Should_remember_the_latest_rate_limit_for_the_poller()
    {
        Assert.Equal(41, _provider.LatestRateLimit.RemainingRequests);
        Assert.Equal(TimeSpan.FromMilliseconds(12), _provider.LatestRateLimit.RequestsResetAt - _provider.LatestRateLimit.ObservedAt);
    }
}

public sealed class When_OpenAI_answers_with_a_permanent_error : IAsyncLifetime
{
    private HttpStub _stub = null!;
    private Sagas.LlmJobs.Providers.OpenAi.OpenAiLlmJobProvider _provider = null!;

    public async Task InitializeAsync()
    {
        _stub = await HttpStub.StartAsync(app => app.MapGet("/v1/responses/{id}", (HttpContext context, string id) => id switch
        {
            "quota" => OpenAiStub.Write(context, 429, OpenAiStub.Error("You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", "insufficient_quota")),
            "bad" => OpenAiStub.Write(context, 400, OpenAiStub.Error("Invalid 'text.format.schema': 'additionalProperties' is required to be supplied and to be false.", "invalid_request_error", null, "text.format.schema")),
            "key" => OpenAiStub.Write(context, 401, OpenAiStub.Error("Incorrect API key provided: sk-test-***cdef.", "invalid_request_error", "invalid_api_key")),
            "forbidden" => OpenAiStub.Write(context, 403, OpenAiStub.Error("Project does not have access to model gpt-6-luna.", "invalid_request_error", "model_not_found")),
            _ => OpenAiStub.Write(context, 500, "{}"),
        }));

        // Three retries allowed: permanent errors must still be sent exactly once.
        _provider = OpenAiStub.Provider(_stub.BaseAddress, o => o.Retry = new LlmRetrySettings { MaxRetryAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromSeconds(5) });
    }

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Theory]
    [InlineData("quota", 429, "insufficient_quota", "exceeded your current quota")]
    [InlineData("bad", 400, "invalid_request_error", "additionalProperties")]
    [InlineData("key", 401, "invalid_api_key", "Incorrect API key")]
    [InlineData("forbidden", 403, "model_not_found", "does not have access")]
    public async Task Should_fail_permanently_after_exactly_one_request(string id, int status, string code, string messagePart)
    {
        var ex = await Assert.ThrowsAsync<LlmProviderException>(() => _provider.GetItemAsync(id, CancellationToken.None));

        Assert.False(ex.IsTransient);
        Assert.Equal(status, ex.Error.StatusCode);
        Assert.Equal(code, ex.Error.Code);
        Assert.Contains(messagePart, ex.Error.Message, StringComparison.Ordinal);
        Assert.Equal(1, _stub.Count("GET", "/v1/responses/" + id));
    }

    [Fact]
    public async Task Should_retry_a_server_error_up_to_the_limit_and_then_report_it_transient()
    {
        var ex = await Assert.ThrowsAsync<LlmProviderException>(() => _provider.GetItemAsync("broken", CancellationToken.None));

        Assert.True(ex.IsTransient);
        Assert.Equal(500, ex.Error.StatusCode);
        Assert.Equal(4, _stub.Count("GET", "/v1/responses/broken"));
    }
}

public sealed class When_OpenAI_cannot_be_reached
{
    [Fact]
    public async Task Should_report_a_refused_connection_as_transient()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var provider = OpenAiStub.Provider(new Uri($"http://127.0.0.1:{port}/"));

        var ex = await Assert.ThrowsAsync<LlmProviderException>(() => provider.GetItemAsync("resp_0001", CancellationToken.None));

        Assert.True(ex.IsTransient);
        Assert.Equal(LlmErrorCodes.ConnectionFailed, ex.Error.Code);
        Assert.Null(ex.Error.StatusCode);
    }

    [Fact]
    public async Task Should_report_a_request_timeout_as_transient()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var stub = await HttpStub.StartAsync(app => app.MapGet("/v1/responses/{id}", async (HttpContext context) =>
        {
            // Never answers until the client gives up (or the test ends).
            await Task.WhenAny(release.Task, Task.Delay(Timeout.Infinite, context.RequestAborted));
        }));
        var provider = OpenAiStub.Provider(stub.BaseAddress, o => o.RequestTimeout = TimeSpan.FromMilliseconds(200));

        var ex = await Assert.ThrowsAsync<LlmProviderException>(() => provider.GetItemAsync("resp_0001", CancellationToken.None));
        release.SetResult();

        Assert.True(ex.IsTransient);
        Assert.Equal(LlmErrorCodes.Timeout, ex.Error.Code);
    }

    [Fact]
    public async Task Should_let_the_callers_cancellation_through_unchanged()
    {
        await using var stub = await HttpStub.StartAsync(app => app.MapGet("/v1/responses/{id}", (HttpContext context) =>
            Task.Delay(Timeout.Infinite, context.RequestAborted)));
        var provider = OpenAiStub.Provider(stub.BaseAddress);
        using var cancellation = new CancellationTokenSource();

        var call = provider.GetItemAsync("resp_0001", cancellation.Token);
        await WaitUntil(() => stub.Count("GET", "/v1/responses/") == 1);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not become true within 10 s.");
            await Task.Delay(10);
        }
    }
}
