using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.PromptAnalyses.Platforms;

public class When_a_provider_refuses_or_fails_a_request
{
    public static TheoryData<string, int, string, PlatformErrorKind, bool> Failures => new()
    {
        { PlatformNames.OpenAi, 400, """{"error":{"message":"Invalid value for 'model'.","type":"invalid_request_error","param":"model","code":null}}""", PlatformErrorKind.InvalidRequest, false },
        { PlatformNames.OpenAi, 401, ProviderShapes.OpenAiInvalidKey, PlatformErrorKind.Authentication, false },
        { PlatformNames.OpenAi, 403, """{"error":{"message":"Project does not have access to model gpt-6-sol","type":"invalid_request_error","code":"model_not_found"}}""", PlatformErrorKind.PermissionDenied, false },
        { PlatformNames.OpenAi, 429, ProviderShapes.OpenAiInsufficientQuota, PlatformErrorKind.QuotaExceeded, false },
        { PlatformNames.OpenAi, 500, ProviderShapes.OpenAiServerError, PlatformErrorKind.ServerError, true },
        { PlatformNames.OpenAi, 503, ProviderShapes.OpenAiServerError, PlatformErrorKind.Overloaded, true },
        { PlatformNames.Claude, 400, ProviderShapes.ClaudeInvalidRequest, PlatformErrorKind.InvalidRequest, false },
        { PlatformNames.Claude, 400, ProviderShapes.ClaudeCreditTooLow, PlatformErrorKind.QuotaExceeded, false },
        { PlatformNames.Claude, 401, ProviderShapes.ClaudeAuthentication, PlatformErrorKind.Authentication, false },
        { PlatformNames.Claude, 408, """{"type":"error","error":{"type":"timeout_error","message":"Request timed out"}}""", PlatformErrorKind.Timeout, true },
        { PlatformNames.Claude, 500, """{"type":"error","error":{"type":"api_error","message":"Internal server error"}}""", PlatformErrorKind.ServerError, true },
        { PlatformNames.Claude, 529, ProviderShapes.ClaudeOverloaded, PlatformErrorKind.Overloaded, true },
        { PlatformNames.Gemini, 400, ProviderShapes.GeminiInvalidKey, PlatformErrorKind.InvalidRequest, false },
        { PlatformNames.Gemini, 403, """{"error":{"code":403,"message":"Method doesn't allow unregistered callers.","status":"PERMISSION_DENIED"}}""", PlatformErrorKind.PermissionDenied, false },
        { PlatformNames.Gemini, 429, ProviderShapes.GeminiPerDayQuota, PlatformErrorKind.QuotaExceeded, false },
        { PlatformNames.Gemini, 503, ProviderShapes.GeminiUnavailable, PlatformErrorKind.Overloaded, true },
        { PlatformNames.Gemini, 500, """{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}""", PlatformErrorKind.ServerError, true },
        { PlatformNames.Perplexity, 400, ProviderShapes.PerplexityUnknownField, PlatformErrorKind.InvalidRequest, false },
        { PlatformNames.Perplexity, 401, ProviderShapes.PerplexityUnauthorized, PlatformErrorKind.Authentication, false },
        { PlatformNames.Perplexity, 502, "<html><body>502 Bad Gateway</body></html>", PlatformErrorKind.ServerError, true },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Should_classify_the_failure_and_send_exactly_one_request(
        string platform, int status, string body, PlatformErrorKind kind, bool transient)
    {
        await using var scenario = await PlatformScenario.StartAsync(platform, status, body);

        var error = await scenario.AskExpectingErrorAsync();

        Assert.Equal(kind, error.Kind);
        Assert.Equal(transient, error.IsTransient);
        Assert.Equal(status, error.HttpStatus);
        Assert.Equal(platform, error.Platform);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.Single(scenario.Calls);
    }

    [Theory]
    [InlineData(PlatformNames.OpenAi)]
    [InlineData(PlatformNames.Claude)]
    [InlineData(PlatformNames.Gemini)]
    [InlineData(PlatformNames.Perplexity)]
    public async Task Should_keep_the_provider_message(string platform)
    {
        var body = platform switch
        {
            PlatformNames.OpenAi => ProviderShapes.OpenAiInvalidKey,
            PlatformNames.Claude => ProviderShapes.ClaudeAuthentication,
            PlatformNames.Gemini => ProviderShapes.GeminiInvalidKey,
            _ => ProviderShapes.PerplexityUnauthorized,
        };
        await using var scenario = await PlatformScenario.StartAsync(platform, platform == PlatformNames.Gemini ? 400 : 401, body);

        var error = await scenario.AskExpectingErrorAsync();

        var expected = platform switch
        {
            PlatformNames.OpenAi => "Incorrect API key provided",
            PlatformNames.Claude => "invalid x-api-key",
            PlatformNames.Gemini => "API key not valid",
            _ => "Invalid API key provided",
        };
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_never_repeat_the_api_key_in_an_error()
    {
        var echo = $$$"""{"type":"error","error":{"type":"authentication_error","message":"key {{{PlatformScenario.ApiKey}}} is revoked"}}""";
        await using var scenario = await PlatformScenario.StartAsync(PlatformNames.Claude, 401, echo);

        var exception = await Assert.ThrowsAsync<PlatformCallException>(() => scenario.Platform.AskAsync("Which CRM?"));

        Assert.DoesNotContain(PlatformScenario.ApiKey, exception.Error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(PlatformScenario.ApiKey, exception.Message, StringComparison.Ordinal);
        Assert.Contains("***", exception.Error.Message, StringComparison.Ordinal);
    }
}

public class When_a_provider_answers_with_an_unreadable_body
{
    public static TheoryData<string, string> Bodies
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var platform in PlatformNames.Real)
            {
                data.Add(platform, """{"id":"resp_1","output":[{"type":"message","content":[""");
                data.Add(platform, "<html><body>Service temporarily moved</body></html>");
                data.Add(platform, "[1, 2, 3]");
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Should_fail_as_that_platforms_invalid_response_without_retrying(string platform, string body)
    {
        await using var scenario = await PlatformScenario.StartAsync(platform, 200, body);

        var error = await scenario.AskExpectingErrorAsync();

        Assert.Equal(PlatformErrorKind.InvalidResponse, error.Kind);
        Assert.False(error.IsTransient);
        Assert.Equal(platform, error.Platform);
        Assert.Single(scenario.Calls);
    }
}

public class When_a_provider_does_not_answer_in_time
{
    [Theory]
    [InlineData(PlatformNames.OpenAi)]
    [InlineData(PlatformNames.Claude)]
    [InlineData(PlatformNames.Perplexity)]
    public async Task Should_fail_as_a_transient_timeout(string platform)
    {
        var released = new TaskCompletionSource();
        await using var scenario = await PlatformScenario.StartAsync(
            platform,
            async context =>
            {
                await released.Task.WaitAsync(context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return Microsoft.AspNetCore.Http.Results.Text("{}", "application/json");
            },
            new Dictionary<string, string?> { ["{section}:TimeoutSeconds"] = "1" });

        try
        {
            var error = await scenario.AskExpectingErrorAsync();

            Assert.Equal(PlatformErrorKind.Timeout, error.Kind);
            Assert.True(error.IsTransient);
        }
        finally
        {
            released.TrySetResult();
        }
    }

    [Fact]
    public async Task Should_let_the_callers_cancellation_win()
    {
        var released = new TaskCompletionSource();
        await using var scenario = await PlatformScenario.StartAsync(
            PlatformNames.Claude,
            async context =>
            {
                await released.Task.WaitAsync(context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return Microsoft.AspNetCore.Http.Results.Text("{}", "application/json");
            });
        using var cancellation = new CancellationTokenSource();

        try
        {
            var asking = scenario.Platform.AskAsync("Which CRM?", cancellationToken: cancellation.Token);
            await WaitUntilAsync(() => scenario.Calls.Count == 1);
            await cancellation.CancelAsync();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => asking);
        }
        finally
        {
            released.TrySetResult();
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("The condition did not become true within 10 s.");
            await Task.Delay(10);
        }
    }
}
