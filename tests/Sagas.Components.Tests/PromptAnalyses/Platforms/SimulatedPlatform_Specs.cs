using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.PromptAnalyses.Platforms;

public class When_the_simulated_platform_answers
{
    [Fact]
    public async Task Should_answer_the_same_way_for_the_same_seed()
    {
        var first = await AskAsync(seed: 7, "Which CRM beats Salesforce for Startups?");
        var second = await AskAsync(seed: 7, "Which CRM beats Salesforce for Startups?");

        Assert.Equal(first.Text, second.Text);
        Assert.Equal(first.Citations, second.Citations);
        Assert.Equal(first.InputTokens, second.InputTokens);
    }

    [Fact]
    public async Task Should_label_answers_as_simulated_and_price_them_at_zero()
    {
        var answer = await AskAsync(seed: 1, "Which CRM should a startup use?", model: "gpt-6-luna");

        Assert.True(answer.IsSimulated);
        Assert.True(answer.Metadata.Simulated);
        Assert.Equal("simulated-1", answer.Model);
        Assert.Equal(0m, answer.Cost);
        Assert.Contains("simulated answer standing in for model gpt-6-luna", answer.Metadata.Warnings);
        Assert.True(answer.TotalTokens > 0);
        Assert.All(answer.Citations, citation => Assert.StartsWith("https://", citation.Url, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_mention_configured_brands_in_some_answers()
    {
        var answers = new List<PlatformAnswer>();
        using var services = Build(seed: 3, extra: new() { ["PromptAnalyses:Platforms:Simulated:Brands:0"] = "Acme" });
        var platform = services.GetRequiredService<IAnalysisPlatformCatalog>().Get(PlatformNames.Simulated);
        for (var index = 0; index < 40; index++)
            answers.Add(await platform.AskAsync($"Question number {index} about CRMs"));

        Assert.Contains(answers, answer => answer.Text.Contains("Acme", StringComparison.Ordinal));
        Assert.Contains(answers, answer => !answer.Text.Contains("Acme", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_fail_with_429s_and_500s_at_the_configured_rates()
    {
        using var services = Build(seed: 11, extra: new()
        {
            ["PromptAnalyses:Platforms:Simulated:RateLimitRate"] = "0.3",
            ["PromptAnalyses:Platforms:Simulated:FailureRate"] = "0.3",
        });
        var platform = services.GetRequiredService<IAnalysisPlatformCatalog>().Get(PlatformNames.Claude);
        var errors = new List<PlatformError>();
        var successes = 0;
        for (var index = 0; index < 200; index++)
        {
            try
            {
                await platform.AskAsync($"Prompt {index}");
                successes++;
            }
            catch (PlatformCallException exception)
            {
                errors.Add(exception.Error);
            }
        }

        var rateLimited = errors.Where(error => error.Kind == PlatformErrorKind.RateLimited).ToList();
        Assert.InRange(rateLimited.Count, 30, 90);
        Assert.InRange(errors.Count(error => error.Kind == PlatformErrorKind.ServerError), 30, 90);
        Assert.InRange(successes, 50, 130);
        Assert.All(errors, error => Assert.True(error.IsTransient));
        Assert.All(rateLimited, error =>
        {
            Assert.NotNull(error.RetryAfter);
            Assert.Equal(0, error.RateLimit.RemainingRequests);
            Assert.Equal(PlatformNames.Claude, error.Platform);
        });
    }

    [Fact]
    public async Task Should_let_a_retry_of_a_failed_prompt_succeed_eventually()
    {
        using var services = Build(seed: 5, extra: new() { ["PromptAnalyses:Platforms:Simulated:FailureRate"] = "0.5" });
        var platform = services.GetRequiredService<IAnalysisPlatformCatalog>().Get(PlatformNames.Simulated);
        var outcomes = new List<bool>();
        for (var attempt = 0; attempt < 20; attempt++)
        {
            try
            {
                await platform.AskAsync("The same prompt every time");
                outcomes.Add(true);
            }
            catch (PlatformCallException)
            {
                outcomes.Add(false);
            }
        }

        Assert.Contains(true, outcomes);
        Assert.Contains(false, outcomes);
    }

    private static async Task<PlatformAnswer> AskAsync(int seed, string prompt, string? model = null)
    {
        using var services = Build(seed);
        return await services.GetRequiredService<IAnalysisPlatformCatalog>().Get(PlatformNames.Simulated).AskAsync(prompt, model);
    }

    private static ServiceProvider Build(int seed, Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["PromptAnalyses:Platforms:Simulated:Seed"] = seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PromptAnalyses:Platforms:Simulated:MinLatencyMs"] = "0",
            ["PromptAnalyses:Platforms:Simulated:MaxLatencyMs"] = "0",
            ["PromptAnalyses:Platforms:Simulated:FailureRate"] = "0",
            ["PromptAnalyses:Platforms:Simulated:RateLimitRate"] = "0",
        };
        foreach (var (key, value) in extra ?? [])
            settings[key] = value;
        var services = new ServiceCollection();
        services.AddAnalysisPlatforms(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        return services.BuildServiceProvider();
    }
}
