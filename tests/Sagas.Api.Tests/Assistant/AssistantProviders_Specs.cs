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

    [Theory]
    [InlineData("bedrock", null, "https://api.openai.com", "Assistant:Provider 'bedrock' is unknown; one of: simulated, openai.")]
    [InlineData("openai", " ", "https://api.openai.com", "Assistant:Provider is openai but Assistant:OpenAi:ApiKey is empty. Set it (from a secret store or an environment variable), or use provider simulated.")]
    [InlineData("openai", "sk-test", "api.openai.com", "Assistant:OpenAi:BaseUrl 'api.openai.com' is not an absolute URL.")]
    public void Should_refuse_to_start_with_one_sentence_naming_the_setting(string provider, string? apiKey, string baseUrl, string message)
    {
        var options = new AssistantOptions { Provider = provider, OpenAi = { ApiKey = apiKey, BaseUrl = baseUrl } };

        var refused = Assert.Throws<SagasConfigurationException>(() => AssistantProviders.Select(options));

        Assert.Equal(message, refused.Message);
    }
}
