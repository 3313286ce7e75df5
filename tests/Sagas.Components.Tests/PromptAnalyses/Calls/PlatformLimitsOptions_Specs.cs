using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sagas.Core.Configuration;
using Sagas.PromptAnalyses.Calls;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.PromptAnalyses.Calls;

public class When_reading_platform_limits
{
    private static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.ToDictionary(s => s.Key, s => (string?)s.Value)).Build();

    [Fact]
    public void Should_default_to_the_documented_limits_and_leave_simulated_unlimited()
    {
        var options = Read(Configuration());

        Assert.Equal(5_000, options.For(PlatformNames.OpenAi).RequestsPerMinute);
        Assert.Equal(10, options.For(PlatformNames.Gemini).RequestsPerMinute);
        Assert.Equal(50, options.For(PlatformNames.Claude).RequestsPerMinute);
        Assert.Equal(50, options.For(PlatformNames.Perplexity).RequestsPerMinute);
        Assert.True(options.RateFor(PlatformNames.Simulated).IsUnlimited);
        Assert.Equal(3, options.Retry.MaxRetries);
    }

    [Fact]
    public void Should_turn_a_per_minute_limit_into_spacing_with_the_safety_margin()
    {
        var options = Read(Configuration(
            ("PromptAnalyses:Limits:gemini:RequestsPerMinute", "60"),
            ("PromptAnalyses:Limits:gemini:TokensPerMinute", "6000"),
            ("PromptAnalyses:Limits:SafetyMargin", "0.5")));

        var rate = options.RateFor("Gemini");

        Assert.Equal(TimeSpan.FromSeconds(1.5), rate.RequestInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(15), rate.TokenInterval);
    }

    [Fact]
    public void Should_treat_zero_as_no_limit()
    {
        var options = Read(Configuration(("PromptAnalyses:Limits:OpenAi:RequestsPerMinute", "0")));

        Assert.True(options.RateFor(PlatformNames.OpenAi).IsUnlimited);
    }

    [Theory]
    [InlineData("PromptAnalyses:Limits:Claude:RequestsPerMinute", "-1", "PromptAnalyses:Limits:Claude:RequestsPerMinute is -1")]
    [InlineData("PromptAnalyses:Limits:Perplexity:TokensPerMinute", "-5", "PromptAnalyses:Limits:Perplexity:TokensPerMinute is -5")]
    [InlineData("PromptAnalyses:Limits:Retry:MaxRetries", "-2", "PromptAnalyses:Limits:Retry:MaxRetries is -2")]
    public void Should_refuse_a_negative_limit_at_start_up(string key, string value, string expected)
    {
        using var services = new ServiceCollection().AddPlatformCalls(Configuration((key, value))).BuildServiceProvider();

        var exception = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<PlatformLimitsOptions>());

        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }

    private static PlatformLimitsOptions Read(IConfiguration configuration) => configuration.ReadValidatedOptions<PlatformLimitsOptions>(PlatformLimitsOptions.SectionName);
}
