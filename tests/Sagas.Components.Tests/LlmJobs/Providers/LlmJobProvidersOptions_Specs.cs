using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Sagas.LlmJobs.Providers;

namespace Sagas.Components.Tests.LlmJobs.Providers;

public sealed class When_llm_providers_are_configured
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddLlmJobProviders(configuration);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Should_default_to_the_simulated_provider()
    {
        using var services = Build([]);
        var catalog = services.GetRequiredService<LlmJobProviderCatalog>();

        Assert.Equal("simulated", catalog.Default.Name);
        Assert.True(catalog.Default.IsSimulated);
        Assert.Equal(["simulated"], catalog.Names);
        Assert.Same(catalog.Default, catalog.Get(null));
    }

    [Fact]
    public void Should_register_openai_when_enabled_with_a_key()
    {
        using var services = Build(new()
        {
            ["LlmJobs:Providers:Default"] = "OpenAI",
            ["LlmJobs:Providers:OpenAi:Enabled"] = "true",
            ["LlmJobs:Providers:OpenAi:ApiKey"] = "sk-config",
            ["LlmJobs:Providers:OpenAi:DefaultModel"] = "gpt-6-sol",
            ["LlmJobs:Providers:OpenAi:MaxItemsPerBatch"] = "1000",
        });
        var catalog = services.GetRequiredService<LlmJobProviderCatalog>();

        Assert.Equal("openai", catalog.Default.Name);
        Assert.False(catalog.Default.IsSimulated);
        Assert.Equal("gpt-6-sol", catalog.Default.DefaultModel);
        Assert.Equal(1000, catalog.Default.Limits.MaxItemsPerBatch);
        Assert.True(catalog.TryGet("simulated", out _));
        Assert.Throws<KeyNotFoundException>(() => catalog.Get("anthropic"));
    }

    [Theory]
    [InlineData("LlmJobs:Providers:OpenAi:ApiKey", "true", null, null)]
    [InlineData("LlmJobs:Providers:OpenAi:BaseUrl", "true", "BaseUrl", "not a url")]
    [InlineData("leave out the trailing /v1", "true", "BaseUrl", "https://api.openai.com/v1")]
    [InlineData("LlmJobs:Providers:OpenAi:MaxItemsPerBatch", "true", "MaxItemsPerBatch", "60000")]
    [InlineData("LlmJobs:Providers:Default", "false", null, null)]
    public void Should_stop_start_up_naming_the_bad_openai_setting(string expectedInMessage, string enabled, string? key, string? value)
    {
        var settings = new Dictionary<string, string?>
        {
            ["LlmJobs:Providers:Default"] = "openai",
            ["LlmJobs:Providers:OpenAi:Enabled"] = enabled,
        };
        if (key is not null)
        {
            settings["LlmJobs:Providers:OpenAi:ApiKey"] = "sk-config";
            settings["LlmJobs:Providers:OpenAi:" + key] = value;
        }

        var ex = Assert.Throws<SagasConfigurationException>(() => Build(settings));
        Assert.Contains(expectedInMessage, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-config", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("c2VjcmV0LXdpdGhvdXQtcHJlZml4LTAxMjM0NTY3")]
    [InlineData("whsec_not*base64*at*all")]
    [InlineData("whsec_c2hvcnQ=")]
    public void Should_stop_start_up_for_a_webhook_secret_that_is_not_one_without_echoing_it(string secret)
    {
        var ex = Assert.Throws<SagasConfigurationException>(() => Build(new() { ["LlmJobs:Providers:OpenAi:WebhookSecret"] = secret }));

        Assert.Contains("LlmJobs:Providers:OpenAi:WebhookSecret", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_decode_a_webhook_secret_into_its_signing_key()
    {
        var key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        using var services = Build(new() { ["LlmJobs:Providers:OpenAi:WebhookSecret"] = "whsec_" + Convert.ToBase64String(key) });
        var options = services.GetRequiredService<LlmJobProvidersOptions>();

        Assert.True(options.OpenAi.WebhooksConfigured);
        Assert.Equal(key, options.OpenAi.WebhookSigningKey());
    }

    [Theory]
    [InlineData("FailureRate", "1.5", "LlmJobs:Providers:Simulated:FailureRate")]
    [InlineData("MaxLatency", "00:00:00.5", "LlmJobs:Providers:Simulated:MaxLatency")]
    [InlineData("MinLatency", "soon", "LlmJobs:Providers:Simulated:MinLatency")]
    public void Should_stop_start_up_naming_the_bad_simulated_setting(string key, string value, string expectedInMessage)
    {
        var ex = Assert.Throws<SagasConfigurationException>(() => Build(new() { ["LlmJobs:Providers:Simulated:" + key] = value }));
        Assert.Contains(expectedInMessage, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_a_configuration_without_any_provider()
    {
        var ex = Assert.Throws<SagasConfigurationException>(() => Build(new() { ["LlmJobs:Providers:Simulated:Enabled"] = "false" }));
        Assert.Contains("no provider is enabled", ex.Message, StringComparison.Ordinal);
    }
}
