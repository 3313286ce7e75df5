using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.PromptAnalyses.Platforms;

public class When_openai_answers_with_web_search_citations : IAsyncLifetime
{
    private PlatformScenario _scenario = null!;
    private PlatformAnswer _answer = null!;

    public async Task InitializeAsync()
    {
        _scenario = await PlatformScenario.StartAsync(PlatformNames.OpenAi, 200, ProviderShapes.OpenAiResponseWithWebSearch, new Dictionary<string, string>
        {
            ["x-ratelimit-limit-requests"] = "5000",
            ["x-ratelimit-remaining-requests"] = "4999",
            ["x-ratelimit-reset-requests"] = "12ms",
            ["x-ratelimit-limit-tokens"] = "30000",
            ["x-ratelimit-remaining-tokens"] = "28068",
            ["x-ratelimit-reset-tokens"] = "6m0s",
        });
        _answer = await _scenario.Platform.AskAsync("Which project management tool suits a small team?");
    }

    public async Task DisposeAsync() => await _scenario.DisposeAsync();

    [Fact]
    public void Should_return_the_text_model_and_usage()
    {
        Assert.Equal(PlatformNames.OpenAi, _answer.Platform);
        Assert.False(_answer.IsSimulated);
        Assert.StartsWith("For small teams, Acme Tasks", _answer.Text, StringComparison.Ordinal);
        Assert.Equal("gpt-6-luna-2026-08-01", _answer.Model);
        Assert.Equal(1520, _answer.InputTokens);
        Assert.Equal(412, _answer.OutputTokens);
        Assert.Equal(1932, _answer.TotalTokens);
    }

    [Fact]
    public void Should_price_the_dated_snapshot_as_its_model()
    {
        // 1520 × 0.10 / 1M + 412 × 0.50 / 1M
        Assert.Equal(0.000358m, _answer.Cost);
        Assert.Empty(_answer.Metadata.Warnings);
    }

    [Fact]
    public void Should_return_url_citations_deduplicated_in_order()
    {
        Assert.Collection(
            _answer.Citations,
            first =>
            {
                Assert.Equal("https://www.acme.com/blog/best-tools?utm_source=openai", first.Url);
                Assert.Equal("acme.com", first.Domain);
                Assert.Equal("The best tools for small teams - Acme", first.Title);
                Assert.Equal(1, first.Position);
            },
            second =>
            {
                Assert.Equal("en.wikipedia.org", second.Domain);
                Assert.Equal(2, second.Position);
            });
    }

    [Fact]
    public void Should_keep_ids_and_search_calls_in_metadata()
    {
        Assert.Equal("resp_68a1f0c2e5b48190a8e3f1c0d6b2a9e40c3f5b1d2e7a8c90", _answer.Metadata.ResponseId);
        Assert.Equal(2, _answer.Metadata.WebSearchCalls);
        Assert.Equal("completed", _answer.Metadata.FinishReason);
        Assert.Contains("\"web_search_calls\":2", _answer.Metadata.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public void Should_read_the_rate_limit_headers()
    {
        Assert.Equal(5000, _answer.RateLimit.RequestLimit);
        Assert.Equal(4999, _answer.RateLimit.RemainingRequests);
        Assert.Equal(28068, _answer.RateLimit.RemainingTokens);
        Assert.Equal(TimeSpan.FromMinutes(6), _answer.RateLimit.TokensResetAt - _answer.RateLimit.ObservedAt);
        Assert.Equal(TimeSpan.FromMilliseconds(12), _answer.RateLimit.RequestsResetAt - _answer.RateLimit.ObservedAt);
    }

    [Fact]
    public void Should_send_one_synchronous_responses_request_with_the_web_search_tool()
    {
        var request = Assert.Single(_scenario.Calls);
        Assert.Equal("/v1/responses", request.Path);
        Assert.Equal($"Bearer {PlatformScenario.ApiKey}", request.Headers["Authorization"]);

        var body = _scenario.OnlyRequestBody();
        Assert.Equal("gpt-6-luna", body.GetProperty("model").GetString());
        Assert.Equal("web_search", Assert.Single(body.GetProperty("tools").EnumerateArray()).GetProperty("type").GetString());
        Assert.Contains("small team", body.GetProperty("input").GetRawText(), StringComparison.Ordinal);
        Assert.False(body.TryGetProperty("background", out var background) && background.GetBoolean());
        Assert.False(body.GetProperty("store").GetBoolean());
    }
}

public class When_openai_is_rate_limited
{
    [Fact]
    public async Task Should_fail_transiently_with_retry_after_and_headers_after_one_request()
    {
        await using var scenario = await PlatformScenario.StartAsync(PlatformNames.OpenAi, 429, ProviderShapes.OpenAiRateLimited, new Dictionary<string, string>
        {
            ["retry-after"] = "2",
            ["x-ratelimit-limit-tokens"] = "30000",
            ["x-ratelimit-remaining-tokens"] = "0",
            ["x-ratelimit-reset-tokens"] = "1.4s",
            ["x-ratelimit-remaining-requests"] = "4998",
        });

        var error = await scenario.AskExpectingErrorAsync();

        Assert.Equal(PlatformErrorKind.RateLimited, error.Kind);
        Assert.True(error.IsTransient);
        Assert.Equal("rate_limit_exceeded", error.ProviderCode);
        Assert.Equal(TimeSpan.FromSeconds(2), error.RetryAfter);
        Assert.Equal(0, error.RateLimit.RemainingTokens);
        Assert.Equal(4998, error.RateLimit.RemainingRequests);
        Assert.Equal(TimeSpan.FromSeconds(1.4), error.RateLimit.TokensResetAt - error.RateLimit.ObservedAt);
        Assert.Contains("Rate limit reached", error.Message, StringComparison.Ordinal);

        // The SDK's own retries are off: the caller's policy and the cluster limiter see every attempt.
        Assert.Single(scenario.Calls);
    }
}
