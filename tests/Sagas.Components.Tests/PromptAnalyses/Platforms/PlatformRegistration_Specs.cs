using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.PromptAnalyses.Platforms;

public class When_platforms_are_configured
{
    [Fact]
    public void Should_let_the_simulated_platform_stand_in_for_every_platform_by_default()
    {
        using var services = Build([]);
        var catalog = services.GetRequiredService<IAnalysisPlatformCatalog>();

        Assert.Equal(PlatformNames.All, catalog.Names);
        foreach (var name in PlatformNames.All)
        {
            var platform = catalog.Get(name);
            Assert.Equal(name, platform.Name);
            Assert.True(platform.IsSimulated);
        }
    }

    [Fact]
    public void Should_use_the_real_platform_when_it_is_enabled()
    {
        using var services = Build(new()
        {
            ["PromptAnalyses:Platforms:Claude:Enabled"] = "true",
            ["PromptAnalyses:Platforms:Claude:ApiKey"] = "sk-ant-test",
        });
        var catalog = services.GetRequiredService<IAnalysisPlatformCatalog>();

        Assert.False(catalog.Get("Claude").IsSimulated);
        Assert.Equal("claude-sonnet-5-5", catalog.Get(PlatformNames.Claude).DefaultModel);
        Assert.True(catalog.Get(PlatformNames.OpenAi).IsSimulated);
    }

    [Fact]
    public void Should_refuse_a_disabled_platform_when_nothing_stands_in()
    {
        using var services = Build(new() { ["PromptAnalyses:Platforms:Simulated:StandInForDisabled"] = "false" });
        var catalog = services.GetRequiredService<IAnalysisPlatformCatalog>();

        Assert.Equal([PlatformNames.Simulated], catalog.Names);
        Assert.False(catalog.Contains(PlatformNames.Gemini));
        var error = Assert.Throws<KeyNotFoundException>(() => catalog.Get(PlatformNames.Gemini));
        Assert.Contains("PromptAnalyses:Platforms", error.Message, StringComparison.Ordinal);
        Assert.Throws<KeyNotFoundException>(() => catalog.Get("bard"));
    }

    [Theory]
    [InlineData("PromptAnalyses:Platforms:OpenAi:Enabled", "true", "PromptAnalyses:Platforms:OpenAi:ApiKey is empty")]
    [InlineData("PromptAnalyses:Platforms:Gemini:TimeoutSeconds", "-5", "PromptAnalyses:Platforms:Gemini:TimeoutSeconds is -5")]
    [InlineData("PromptAnalyses:Platforms:Claude:MaxOutputTokens", "0", "PromptAnalyses:Platforms:Claude:MaxOutputTokens is 0")]
    [InlineData("PromptAnalyses:Platforms:Perplexity:BaseUrl", "api.perplexity.ai", "PromptAnalyses:Platforms:Perplexity:BaseUrl")]
    [InlineData("PromptAnalyses:Platforms:Simulated:MinLatencyMs", "-1", "PromptAnalyses:Platforms:Simulated:MinLatencyMs is -1")]
    [InlineData("PromptAnalyses:Platforms:Simulated:FailureRate", "1.5", "PromptAnalyses:Platforms:Simulated:FailureRate")]
    public void Should_stop_start_up_with_a_clear_message(string key, string value, string expected)
    {
        var error = Assert.Throws<SagasConfigurationException>(() => Build(new() { [key] = value }));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_never_show_the_api_key_in_the_options_text()
    {
        var options = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PromptAnalyses:Platforms:OpenAi:Enabled"] = "true",
            ["PromptAnalyses:Platforms:OpenAi:ApiKey"] = "sk-secret-123456",
        }).Build().ReadValidatedOptions<PlatformsOptions>(PlatformsOptions.SectionName);

        Assert.DoesNotContain("sk-secret-123456", options.OpenAi.ToString(), StringComparison.Ordinal);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddAnalysisPlatforms(configuration);
        return services.BuildServiceProvider();
    }
}
