using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Api.Assistant;
using Sagas.Core.Configuration;

namespace Sagas.Api.Tests.Assistant;

public sealed class When_the_assistant_provider_is_chosen
{
    [Theory]
    [InlineData("simulated")]
    [InlineData(" Simulated ")]
    public void Should_run_the_simulated_model_without_network_or_settings(string provider)
    {
        using var services = new ServiceCollection().AddSingleton(TimeProvider.System).BuildServiceProvider();

        using var chat = AssistantProviders.Select(new AssistantOptions { Provider = provider })(services);

        Assert.IsType<SimulatedChatClient>(chat);
        Assert.Equal(SimulatedChatClient.ModelName, chat.GetService<ChatClientMetadata>()?.DefaultModelId);
    }

    [Fact]
    public void Should_run_openai_through_the_official_sdk_as_a_chat_client_that_reports_its_failures()
    {
        using var services = new ServiceCollection().AddLogging().BuildServiceProvider();
        var options = new AssistantOptions { Provider = "OpenAI", OpenAi = { ApiKey = "sk-test", Model = "gpt-6-luna" } };

        using var chat = AssistantProviders.Select(options)(services);

        Assert.NotNull(chat.GetService<ProviderFailureChatClient>());
        Assert.NotNull(chat.GetService<OpenAI.Chat.ChatClient>());
        Assert.Equal("gpt-6-luna", chat.GetService<ChatClientMetadata>()?.DefaultModelId);
    }

    [Fact]
    public void Should_run_claude_on_the_anthropic_api_through_the_official_sdk_as_a_chat_client_that_reports_its_failures()
    {
        using var services = new ServiceCollection().AddLogging().BuildServiceProvider();
        var options = new AssistantOptions { Provider = "Anthropic", Anthropic = { ApiKey = "sk-ant-test", Model = "claude-stub-model" } };

        using var chat = AssistantProviders.Select(options)(services);

        Assert.NotNull(chat.GetService<ProviderFailureChatClient>());
        Assert.NotNull(chat.GetService<Anthropic.IAnthropicClient>());
        Assert.Equal("claude-stub-model", chat.GetService<ChatClientMetadata>()?.DefaultModelId);
    }

    [Fact]
    public void Should_run_claude_on_bedrock_through_the_official_bedrock_client_in_the_configured_region()
    {
        using var services = new ServiceCollection().AddLogging().BuildServiceProvider();
        var options = new AssistantOptions { Provider = "bedrock", Bedrock = { Region = "eu-central-1", Model = "eu.anthropic.claude-stub-v1:0" } };

        using var chat = AssistantProviders.Select(options)(services);

        Assert.NotNull(chat.GetService<ProviderFailureChatClient>());
        var client = Assert.IsType<Anthropic.Bedrock.AnthropicBedrockClient>(chat.GetService<Anthropic.IAnthropicClient>());
        Assert.Equal("https://bedrock-runtime.eu-central-1.amazonaws.com", client.BaseUrl.TrimEnd('/'));
        Assert.Equal("eu.anthropic.claude-stub-v1:0", chat.GetService<ChatClientMetadata>()?.DefaultModelId);
    }

    [Theory]
    [InlineData("vertex", "Assistant:Provider 'vertex' is unknown; one of: simulated, openai, anthropic, bedrock.")]
    [InlineData("anthropic", "Assistant:Provider is anthropic but Assistant:Anthropic:ApiKey is empty. Set it (from a secret store or an environment variable), or use provider simulated.")]
    [InlineData("bedrock", "Assistant:Provider is bedrock but Assistant:Bedrock:Region is empty. Set the AWS region of the model, e.g. eu-central-1.")]
    public void Should_refuse_to_start_a_provider_without_its_settings(string provider, string message)
    {
        var refused = Assert.Throws<SagasConfigurationException>(() => AssistantProviders.Select(new AssistantOptions { Provider = provider }));

        Assert.Equal(message, refused.Message);
    }

    [Fact]
    public void Should_refuse_to_start_bedrock_without_a_model()
    {
        var options = new AssistantOptions { Provider = "bedrock", Bedrock = { Region = "eu-central-1" } };

        var refused = Assert.Throws<SagasConfigurationException>(() => AssistantProviders.Select(options));

        Assert.Equal("Assistant:Bedrock:Model is empty; name the model the assistant runs on.", refused.Message);
    }

    [Theory]
    [InlineData("openai", " ", "https://api.openai.com", "Assistant:Provider is openai but Assistant:OpenAi:ApiKey is empty. Set it (from a secret store or an environment variable), or use provider simulated.")]
    [InlineData("openai", "sk-test", "api.openai.com", "Assistant:OpenAi:BaseUrl 'api.openai.com' is not an absolute URL.")]
    public void Should_refuse_to_start_with_one_sentence_naming_the_setting(string provider, string? apiKey, string baseUrl, string message)
    {
        var options = new AssistantOptions { Provider = provider, OpenAi = { ApiKey = apiKey, BaseUrl = baseUrl } };

        var refused = Assert.Throws<SagasConfigurationException>(() => AssistantProviders.Select(options));

        Assert.Equal(message, refused.Message);
    }
}
