using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.PromptAnalyses.Platforms;

public class When_claude_answers_with_web_search_citations : IAsyncLifetime
{
    private PlatformScenario _scenario = null!;
    private PlatformAnswer _answer = null!;

    public async Task InitializeAsync()
    {
        _scenario = await PlatformScenario.StartAsync(PlatformNames.Claude, 200, ProviderShapes.ClaudeMessageWithWebSearch, new Dictionary<string, string>
        {
            ["anthropic-ratelimit-requests-limit"] = "50",
            ["anthropic-ratelimit-requests-remaining"] = "49",
            ["anthropic-ratelimit-requests-reset"] = "2026-11-23T10:00:30Z",
            ["anthropic-ratelimit-tokens-limit"] = "80000",
            ["anthropic-ratelimit-tokens-remaining"] = "69338",
            ["anthropic-ratelimit-tokens-reset"] = "2026-11-23T10:00:12Z",
        });
        _answer = await _scenario.Platform.AskAsync("Which CRM should a startup use?");
    }

    public async Task DisposeAsync() => await _scenario.DisposeAsync();

    [Fact]
    public void Should_join_the_text_blocks_and_report_usage_and_cost()
    {
        Assert.Equal(
            "I'll look up current recommendations.Based on the search results, Acme CRM is popular with early-stage teams, while G2 also ranks HubSpot highly.",
            _answer.Text);
        Assert.Equal("claude-sonnet-5-5", _answer.Model);
        Assert.Equal(10250, _answer.InputTokens);
        Assert.Equal(412, _answer.OutputTokens);
        Assert.Equal(10662, _answer.TotalTokens);

        // 10250 × 2 / 1M + 412 × 10 / 1M
        Assert.Equal(0.02462m, _answer.Cost);
    }

    [Fact]
    public void Should_return_the_cited_search_results_once_each_with_cited_text()
    {
        Assert.Collection(
            _answer.Citations,
            acme =>
            {
                Assert.Equal("https://docs.acme.com/crm/overview", acme.Url);
                Assert.Equal("docs.acme.com", acme.Domain);
                Assert.Equal("Acme CRM overview", acme.Title);
                Assert.Equal(1, acme.Position);
                Assert.Equal("Acme CRM is used by more than 20,000 startups worldwide.", acme.Snippet);
            },
            g2 =>
            {
                Assert.Equal("g2.com", g2.Domain);
                Assert.Equal(2, g2.Position);
            });
    }

    [Fact]
    public void Should_keep_the_search_queries_and_stop_reason()
    {
        Assert.Equal("msg_01XFDUDYJgAACzvnptvVoYEL", _answer.Metadata.ResponseId);
        Assert.Equal("end_turn", _answer.Metadata.FinishReason);
        Assert.Equal(1, _answer.Metadata.WebSearchCalls);
        Assert.Equal(["best CRM for startups 2026"], _answer.Metadata.SearchQueries!);
    }

    [Fact]
    public void Should_read_the_rfc3339_rate_limit_headers()
    {
        Assert.Equal(50, _answer.RateLimit.RequestLimit);
        Assert.Equal(49, _answer.RateLimit.RemainingRequests);
        Assert.Equal(69338, _answer.RateLimit.RemainingTokens);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 10, 0, 30, TimeSpan.Zero), _answer.RateLimit.RequestsResetAt);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 10, 0, 12, TimeSpan.Zero), _answer.RateLimit.TokensResetAt);
    }

    [Fact]
    public void Should_send_the_key_the_pinned_version_and_the_web_search_tool()
    {
        var request = Assert.Single(_scenario.Calls);
        Assert.Equal("/v1/messages", request.Path);
        Assert.Equal(PlatformScenario.ApiKey, request.Headers["x-api-key"]);
        Assert.Equal("2023-06-01", request.Headers["anthropic-version"]);
        Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.False(request.Headers.ContainsKey("Authorization"));

        var body = _scenario.OnlyRequestBody();
        Assert.Equal("claude-sonnet-5-5", body.GetProperty("model").GetString());
        Assert.Equal(2048, body.GetProperty("max_tokens").GetInt32());
        var message = Assert.Single(body.GetProperty("messages").EnumerateArray());
        Assert.Equal("user", message.GetProperty("role").GetString());
        Assert.Equal("Which CRM should a startup use?", message.GetProperty("content").GetString());
        var tool = Assert.Single(body.GetProperty("tools").EnumerateArray());
        Assert.Equal("""{"type":"web_search_20250305","name":"web_search","max_uses":3}""", tool.GetRawText());
        Assert.False(body.TryGetProperty("temperature", out _));
    }
}

public class When_claude_is_rate_limited
{
    [Fact]
    public async Task Should_fail_transiently_with_retry_after_and_the_reset_time()
    {
        await using var scenario = await PlatformScenario.StartAsync(PlatformNames.Claude, 429, ProviderShapes.ClaudeRateLimited, new Dictionary<string, string>
        {
            ["retry-after"] = "7",
            ["anthropic-ratelimit-requests-limit"] = "50",
            ["anthropic-ratelimit-requests-remaining"] = "0",
            ["anthropic-ratelimit-requests-reset"] = "2026-11-23T10:01:00Z",
        });

        var error = await scenario.AskExpectingErrorAsync();

        Assert.Equal(PlatformErrorKind.RateLimited, error.Kind);
        Assert.True(error.IsTransient);
        Assert.Equal("rate_limit_error", error.ProviderCode);
        Assert.Equal(TimeSpan.FromSeconds(7), error.RetryAfter);
        Assert.Equal(0, error.RateLimit.RemainingRequests);
        Assert.Equal(50, error.RateLimit.RequestLimit);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 10, 1, 0, TimeSpan.Zero), error.RateLimit.RequestsResetAt);
        Assert.Single(scenario.Calls);
    }

    [Fact]
    public async Task Should_treat_529_overloaded_as_transient_and_keep_its_retry_after()
    {
        await using var scenario = await PlatformScenario.StartAsync(PlatformNames.Claude, 529, ProviderShapes.ClaudeOverloaded, new Dictionary<string, string>
        {
            ["retry-after"] = "30",
        });

        var error = await scenario.AskExpectingErrorAsync();

        Assert.Equal(PlatformErrorKind.Overloaded, error.Kind);
        Assert.True(error.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(30), error.RetryAfter);
        Assert.Equal("overloaded_error", error.ProviderCode);
    }
}

public class When_claude_web_search_fails_inside_a_successful_answer
{
    [Fact]
    public async Task Should_return_the_answer_with_a_warning()
    {
        const string body = """
            {"id":"msg_02","type":"message","role":"assistant","model":"claude-sonnet-5-5",
             "content":[
               {"type":"server_tool_use","id":"srvtoolu_02","name":"web_search","input":{"query":"acme crm"}},
               {"type":"web_search_tool_result","tool_use_id":"srvtoolu_02","content":{"type":"web_search_tool_result_error","error_code":"max_uses_exceeded"}},
               {"type":"text","text":"I could not search further, but Acme CRM is widely used."}],
             "stop_reason":"end_turn","stop_sequence":null,
             "usage":{"input_tokens":900,"output_tokens":40,"server_tool_use":{"web_search_requests":1}}}
            """;
        await using var scenario = await PlatformScenario.StartAsync(PlatformNames.Claude, 200, body);

        var answer = await scenario.Platform.AskAsync("Which CRM?");

        Assert.Equal("I could not search further, but Acme CRM is widely used.", answer.Text);
        Assert.Empty(answer.Citations);
        Assert.Contains("web search failed: max_uses_exceeded", answer.Metadata.Warnings);
    }
}

public class When_claude_answers_partly_from_its_prompt_cache
{
    [Fact]
    public async Task Should_report_cache_reads_as_cached_input_within_the_input()
    {
        var body = ProviderShapes.ClaudeMessageWithWebSearch
            .Replace("\"input_tokens\": 10250,", "\"input_tokens\": 2000,", StringComparison.Ordinal)
            .Replace("\"cache_creation_input_tokens\": 0,", "\"cache_creation_input_tokens\": 250,", StringComparison.Ordinal)
            .Replace("\"cache_read_input_tokens\": 0,", "\"cache_read_input_tokens\": 8000,", StringComparison.Ordinal);
        await using var scenario = await PlatformScenario.StartAsync(PlatformNames.Claude, 200, body);

        var answer = await scenario.Platform.AskAsync("Which task manager suits a small team?");

        Assert.Equal(10250, answer.InputTokens);
        Assert.Equal(8000, answer.CachedInputTokens);
    }
}
