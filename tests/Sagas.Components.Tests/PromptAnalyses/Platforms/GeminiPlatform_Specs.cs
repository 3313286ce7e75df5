using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.PromptAnalyses.Platforms;

public class When_gemini_answers_with_google_search_grounding : IAsyncLifetime
{
    private PlatformScenario _scenario = null!;
    private PlatformAnswer _answer = null!;

    public async Task InitializeAsync()
    {
        _scenario = await PlatformScenario.StartAsync(PlatformNames.Gemini, 200, ProviderShapes.GeminiGroundedAnswer);
        _answer = await _scenario.Platform.AskAsync("Which task manager suits a small team?");
    }

    public async Task DisposeAsync() => await _scenario.DisposeAsync();

    [Fact]
    public void Should_join_the_candidate_parts_and_count_tool_and_thinking_tokens()
    {
        Assert.Equal("For small teams, Acme Tasks and Trello are common picks. Acme Tasks offers a free tier.", _answer.Text);
        Assert.Equal("gemini-3.8-flash", _answer.Model);
        Assert.Equal(9 + 310, _answer.InputTokens);
        Assert.Equal(120 + 40, _answer.OutputTokens);
        Assert.Equal(479, _answer.TotalTokens);

        // 319 × 0.75 / 1M + 160 × 3.75 / 1M
        Assert.Equal(0.00083925m, _answer.Cost);
    }

    [Fact]
    public void Should_take_the_domain_from_the_chunk_title_because_the_uri_is_a_google_redirect()
    {
        Assert.Collection(
            _answer.Citations,
            acme =>
            {
                Assert.Equal("https://vertexaisearch.cloud.google.com/grounding-api-redirect/AUZIYQE3kxT0b7Q", acme.Url);
                Assert.Equal("acme.com", acme.Domain);
                Assert.Equal(1, acme.Position);
            },
            trello =>
            {
                Assert.Equal("trello.com", trello.Domain);
                Assert.Equal(2, trello.Position);
            });
    }

    [Fact]
    public void Should_count_search_queries_and_report_no_rate_limit_headers()
    {
        Assert.Equal(2, _answer.Metadata.WebSearchCalls);
        Assert.Equal("STOP", _answer.Metadata.FinishReason);
        Assert.Equal("mK1gaPzGA9mZ1dkP2o6qkQ4", _answer.Metadata.ResponseId);
        Assert.True(_answer.RateLimit.IsEmpty);
    }

    [Fact]
    public void Should_send_the_key_header_and_the_google_search_tool()
    {
        var request = Assert.Single(_scenario.Calls);
        Assert.Equal("/v1beta/models/gemini-3.8-flash:generateContent", request.Path);
        Assert.Equal(PlatformScenario.ApiKey, request.Headers["x-goog-api-key"]);
        Assert.DoesNotContain(PlatformScenario.ApiKey, request.Path, StringComparison.Ordinal);

        var body = _scenario.OnlyRequestBody();
        Assert.Equal("""[{"google_search":{}}]""", body.GetProperty("tools").GetRawText());
        var content = Assert.Single(body.GetProperty("contents").EnumerateArray());
        Assert.Equal("user", content.GetProperty("role").GetString());
        Assert.Equal("Which task manager suits a small team?", Assert.Single(content.GetProperty("parts").EnumerateArray()).GetProperty("text").GetString());
    }
}

public class When_gemini_is_rate_limited
{
    [Fact]
    public async Task Should_fail_transiently_with_the_retry_delay_from_the_error_details()
    {
        await using var scenario = await PlatformScenario.StartAsync(PlatformNames.Gemini, 429, ProviderShapes.GeminiPerMinuteQuota);

        var error = await scenario.AskExpectingErrorAsync();

        Assert.Equal(PlatformErrorKind.RateLimited, error.Kind);
        Assert.True(error.IsTransient);
        Assert.Equal("RESOURCE_EXHAUSTED", error.ProviderCode);
        Assert.Equal(TimeSpan.FromSeconds(38), error.RetryAfter);
        Assert.Single(scenario.Calls);
    }
}

public class When_gemini_blocks_the_prompt
{
    [Fact]
    public async Task Should_fail_permanently_as_content_blocked()
    {
        const string body = """{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":12,"totalTokenCount":12},"modelVersion":"gemini-3.8-flash"}""";
        await using var scenario = await PlatformScenario.StartAsync(PlatformNames.Gemini, 200, body);

        var error = await scenario.AskExpectingErrorAsync();

        Assert.Equal(PlatformErrorKind.ContentBlocked, error.Kind);
        Assert.False(error.IsTransient);
    }
}

public class When_gemini_answers_partly_from_its_context_cache
{
    [Fact]
    public async Task Should_report_the_cached_prompt_tokens_as_cached_input()
    {
        var body = ProviderShapes.GeminiGroundedAnswer.Replace("\"promptTokenCount\": 9,", "\"promptTokenCount\": 9,\n            \"cachedContentTokenCount\": 6,", StringComparison.Ordinal);
        Assert.Contains("cachedContentTokenCount", body, StringComparison.Ordinal);
        await using var scenario = await PlatformScenario.StartAsync(PlatformNames.Gemini, 200, body);

        var answer = await scenario.Platform.AskAsync("Which task manager suits a small team?");

        Assert.Equal(9 + 310, answer.InputTokens);
        Assert.Equal(6, answer.CachedInputTokens);
    }

    [Fact]
    public async Task Should_report_none_when_the_payload_has_no_cache_count()
    {
        await using var scenario = await PlatformScenario.StartAsync(PlatformNames.Gemini, 200, ProviderShapes.GeminiGroundedAnswer);

        Assert.Equal(0, (await scenario.Platform.AskAsync("Which task manager suits a small team?")).CachedInputTokens);
    }
}
