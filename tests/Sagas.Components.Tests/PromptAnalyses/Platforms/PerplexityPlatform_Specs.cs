using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.PromptAnalyses.Platforms;

public class When_perplexity_completes_an_agent_run : IAsyncLifetime
{
    private PlatformScenario _scenario = null!;
    private PlatformAnswer _answer = null!;

    public async Task InitializeAsync()
    {
        _scenario = await PlatformScenario.StartAsync(PlatformNames.Perplexity, 200, ProviderShapes.PerplexityCompleted);
        _answer = await _scenario.Platform.AskAsync("Which CRM should a startup use?");
    }

    public async Task DisposeAsync() => await _scenario.DisposeAsync();

    [Fact]
    public void Should_return_the_message_text_and_usage()
    {
        Assert.Equal("Acme CRM [1] is a common choice for startups; TechCrunch compares it with four others [2].", _answer.Text);
        Assert.Equal("perplexity/sonar", _answer.Model);
        Assert.Equal(812, _answer.InputTokens);
        Assert.Equal(265, _answer.OutputTokens);
        Assert.Equal(1077, _answer.TotalTokens);
    }

    [Fact]
    public void Should_cost_the_providers_token_cost_plus_the_configured_price_per_search()
    {
        // (0.006077 total − 0.005 tool calls) + 1 search × 0.005
        Assert.Equal(0.006077m, _answer.Cost);
        Assert.Equal(0.006077m, _answer.Metadata.ProviderReportedCost);
        Assert.Equal(1, _answer.Metadata.WebSearchCalls);
    }

    [Fact]
    public void Should_return_the_search_results_as_citations_once_each()
    {
        Assert.Collection(
            _answer.Citations,
            acme =>
            {
                Assert.Equal("https://www.acme.com/crm", acme.Url);
                Assert.Equal("acme.com", acme.Domain);
                Assert.Equal("Acme CRM", acme.Title);
                Assert.Equal("Acme CRM helps startups track deals.", acme.Snippet);
                Assert.Equal(1, acme.Position);
            },
            techCrunch =>
            {
                Assert.Equal("techcrunch.com", techCrunch.Domain);
                Assert.Equal(2, techCrunch.Position);
            });
    }

    [Fact]
    public void Should_send_exactly_model_input_and_the_web_search_tool_with_bearer_auth()
    {
        var request = Assert.Single(_scenario.Calls);
        Assert.Equal("/v1/agent", request.Path);
        Assert.Equal($"Bearer {PlatformScenario.ApiKey}", request.Headers["Authorization"]);
        Assert.Equal(
            """{"model":"perplexity/sonar","input":"Which CRM should a startup use?","tools":[{"type":"web_search"}]}""",
            request.Body);
    }
}

public class When_perplexity_reports_a_failed_run_with_http_200
{
    [Fact]
    public async Task Should_fail_with_the_providers_message_after_one_request()
    {
        await using var scenario = await PlatformScenario.StartAsync(PlatformNames.Perplexity, 200, ProviderShapes.PerplexityFailed);

        var error = await scenario.AskExpectingErrorAsync();

        Assert.Equal(PlatformErrorKind.RunFailed, error.Kind);
        Assert.True(error.IsTransient);
        Assert.Equal(200, error.HttpStatus);
        Assert.Equal("upstream_timeout", error.ProviderCode);
        Assert.Equal("Upstream model timed out while generating the answer.", error.Message);
        Assert.Single(scenario.Calls);
    }
}

public class When_perplexity_is_rate_limited
{
    [Fact]
    public async Task Should_fail_transiently_and_keep_retry_after()
    {
        const string body = """{"error":{"message":"Rate limit exceeded. Please retry later.","type":"rate_limit_error","code":429}}""";
        await using var scenario = await PlatformScenario.StartAsync(PlatformNames.Perplexity, 429, body, new Dictionary<string, string>
        {
            ["retry-after"] = "12",
        });

        var error = await scenario.AskExpectingErrorAsync();

        Assert.Equal(PlatformErrorKind.RateLimited, error.Kind);
        Assert.True(error.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(12), error.RetryAfter);
        Assert.Single(scenario.Calls);
    }
}
