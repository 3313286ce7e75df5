using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;
using Sagas.Core.Configuration;

namespace Sagas.Api.Assistant;

/// <summary>
/// The models the assistant can run on, one <see cref="IChatClient"/> each, chosen by <c>Assistant:Provider</c>. The
/// tool loop (<see cref="AssistantLoop"/>) wraps whichever is chosen, so a provider only has to answer chat requests,
/// take function tools and report its failures.
/// </summary>
public static class AssistantProviders
{
    public const string Simulated = "simulated";
    public const string OpenAi = "openai";

    /// <summary>Checks the provider's settings at start-up and returns how to make its chat client.</summary>
    public static Func<IServiceProvider, IChatClient> Select(AssistantOptions options)
    {
        switch (options.Provider.Trim().ToLowerInvariant())
        {
            case Simulated:
                return services => new SimulatedChatClient(services.GetRequiredService<TimeProvider>());
            case OpenAi:
                if (string.IsNullOrWhiteSpace(options.OpenAi.ApiKey))
                    throw new SagasConfigurationException("Assistant:Provider is openai but Assistant:OpenAi:ApiKey is empty. Set it (from a secret store or an environment variable), or use provider simulated.");
                if (!Uri.TryCreate(options.OpenAi.BaseUrl, UriKind.Absolute, out _))
                    throw new SagasConfigurationException($"Assistant:OpenAi:BaseUrl '{options.OpenAi.BaseUrl}' is not an absolute URL.");
                return services => CreateOpenAi(options.OpenAi, services.GetRequiredService<ILogger<ProviderFailureChatClient>>());
            default:
                throw new SagasConfigurationException($"Assistant:Provider '{options.Provider}' is unknown; one of: {Simulated}, {OpenAi}.");
        }
    }

    /// <summary>
    /// OpenAI's Chat Completions through the official SDK: the tool loop is stateless on our side (no stored
    /// responses), and its shapes are the ones compatible servers and proxies implement most widely (the base URL is
    /// configurable).
    /// </summary>
    private static IChatClient CreateOpenAi(AssistantOpenAiOptions openAi, ILogger logger)
    {
        var chat = new OpenAI.Chat.ChatClient(
            openAi.Model,
            new ApiKeyCredential(openAi.ApiKey ?? ""),
            new OpenAIClientOptions { Endpoint = new Uri(openAi.BaseUrl.TrimEnd('/') + "/v1"), NetworkTimeout = openAi.RequestTimeout });
        return chat.AsIChatClient().AsBuilder()
            .ConfigureOptions(request => request.MaxOutputTokens ??= openAi.MaxOutputTokens)
            .Use(inner => new ProviderFailureChatClient(inner, OpenAi, DescribeOpenAiFailure, logger))
            .Build();
    }

    private static string? DescribeOpenAiFailure(Exception exception) => exception switch
    {
        ClientResultException { Status: > 0 } answered => $"The language model answered HTTP {answered.Status}.",
        // The SDK reports a request that got no answer as status 0; a timeout surfaces as a cancellation nobody asked for.
        ClientResultException or HttpRequestException or TaskCanceledException or TimeoutException => "The language model could not be reached.",
        _ => null,
    };
}
