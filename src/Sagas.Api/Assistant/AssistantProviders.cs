using System.ClientModel;
using System.Net;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Anthropic;
using Anthropic.Bedrock;
using Anthropic.Exceptions;
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
    public const string Anthropic = "anthropic";
    public const string Bedrock = "bedrock";

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
                RequireAbsoluteUrl(options.OpenAi.BaseUrl, "Assistant:OpenAi:BaseUrl");
                return services => CreateOpenAi(options.OpenAi, services.GetRequiredService<ILogger<ProviderFailureChatClient>>());
            case Anthropic:
                if (string.IsNullOrWhiteSpace(options.Anthropic.ApiKey))
                    throw new SagasConfigurationException("Assistant:Provider is anthropic but Assistant:Anthropic:ApiKey is empty. Set it (from a secret store or an environment variable), or use provider simulated.");
                RequireAbsoluteUrl(options.Anthropic.BaseUrl, "Assistant:Anthropic:BaseUrl");
                RequireModel(options.Anthropic.Model, "Assistant:Anthropic:Model");
                return services => CreateAnthropic(options.Anthropic, services.GetRequiredService<ILogger<ProviderFailureChatClient>>());
            case Bedrock:
                if (string.IsNullOrWhiteSpace(options.Bedrock.Region))
                    throw new SagasConfigurationException("Assistant:Provider is bedrock but Assistant:Bedrock:Region is empty. Set the AWS region of the model, e.g. eu-central-1.");
                RequireModel(options.Bedrock.Model, "Assistant:Bedrock:Model");
                if (!string.IsNullOrWhiteSpace(options.Bedrock.ServiceUrl))
                    RequireAbsoluteUrl(options.Bedrock.ServiceUrl, "Assistant:Bedrock:ServiceUrl");
                return services => CreateBedrock(
                    options.Bedrock,
                    // Specs (and hosts with their own credential source) register AWSCredentials; otherwise the SDK's default chain.
                    services.GetService<AWSCredentials>(),
                    services.GetRequiredService<ILogger<ProviderFailureChatClient>>());
            default:
                throw new SagasConfigurationException($"Assistant:Provider '{options.Provider}' is unknown; one of: {Simulated}, {OpenAi}, {Anthropic}, {Bedrock}.");
        }
    }

    private static void RequireAbsoluteUrl(string? url, string key)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out _))
            throw new SagasConfigurationException($"{key} '{url}' is not an absolute URL.");
    }

    private static void RequireModel(string? model, string key)
    {
        if (string.IsNullOrWhiteSpace(model))
            throw new SagasConfigurationException($"{key} is empty; name the model the assistant runs on.");
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

    /// <summary>Claude's Messages API through Anthropic's SDK, whose <see cref="IChatClient"/> maps function tools to <c>tool_use</c>.</summary>
    private static IChatClient CreateAnthropic(AssistantAnthropicOptions anthropic, ILogger logger)
    {
        var client = new AnthropicClient(new global::Anthropic.Core.ClientOptions
        {
            ApiKey = anthropic.ApiKey,
            BaseUrl = anthropic.BaseUrl.TrimEnd('/'),
            Timeout = anthropic.RequestTimeout,
            MaxRetries = anthropic.MaxRetries,
            // The SDK's exceptions carry no response headers: the provider's retry-after is read on the way through.
            Handlers = [new ProviderRetryAfterHandler()],
        });
        return client.AsIChatClient(anthropic.Model, anthropic.MaxOutputTokens).AsBuilder()
            .Use(inner => new ProviderFailureChatClient(inner, Anthropic, DescribeAnthropicFailure, logger))
            .Build();
    }

    /// <summary>
    /// Claude on Bedrock through Anthropic's Bedrock client: the same Messages shapes and the same
    /// <see cref="IChatClient"/>, sent as Bedrock's InvokeModel (streams as InvokeModelWithResponseStream), signed with
    /// SigV4 from AWS credentials.
    /// </summary>
    private static IChatClient CreateBedrock(AssistantBedrockOptions bedrock, AWSCredentials? credentials, ILogger logger)
    {
        var signer = new AwsChainBedrockCredentials(bedrock.Region!, credentials);
        var client = new AnthropicBedrockClient(signer).WithOptions(defaults => defaults with
        {
            BaseUrl = string.IsNullOrWhiteSpace(bedrock.ServiceUrl) ? defaults.BaseUrl : bedrock.ServiceUrl.TrimEnd('/'),
            Timeout = bedrock.RequestTimeout,
            MaxRetries = bedrock.MaxRetries,
            Handlers = [.. defaults.Handlers ?? [], new ProviderRetryAfterHandler()],
        });
        return client.AsIChatClient(bedrock.Model, bedrock.MaxOutputTokens).AsBuilder()
            .Use(inner => new ProviderFailureChatClient(inner, Bedrock, DescribeAnthropicFailure, logger))
            .Build();
    }

    private static ProviderFailure? DescribeOpenAiFailure(Exception exception) => exception switch
    {
        ClientResultException { Status: 429 } throttled => ProviderFailure.RateLimitedFailure with { RetryAfter = ProviderRetryAfter.Read(throttled.GetRawResponse()) },
        ClientResultException { Status: > 0 } answered => new($"The language model answered HTTP {answered.Status}.", Refused: true, ServerFault: ProviderFailure.IsServerFault(answered.Status)),
        // The SDK reports a request that got no answer as status 0; a timeout surfaces as a cancellation nobody asked for.
        ClientResultException or HttpRequestException or TaskCanceledException or TimeoutException => ProviderFailure.Unreachable,
        _ => null,
    };

    /// <summary>Anthropic's SDK (and so Bedrock's) reports an answered call by status and everything else as I/O or SSE errors.</summary>
    internal static ProviderFailure? DescribeAnthropicFailure(Exception exception) => exception switch
    {
        AnthropicApiException { StatusCode: HttpStatusCode.TooManyRequests } => ProviderFailure.RateLimitedFailure,
        AnthropicApiException answered => new($"The language model answered HTTP {(int)answered.StatusCode}.", Refused: true, ServerFault: ProviderFailure.IsServerFault((int)answered.StatusCode)),
        AnthropicSseException or AnthropicInvalidDataException or IOException => ProviderFailure.CutOff,
        AnthropicIOException or HttpRequestException or TaskCanceledException or TimeoutException => ProviderFailure.Unreachable,
        AmazonClientException => new("No AWS credentials were found for Bedrock (environment, profile, web identity, container or instance role)."),
        _ => null,
    };
}

/// <summary>
/// What of a provider's failure the caller may see; <see cref="RateLimited"/> answers 429 instead of 502, with
/// <see cref="RetryAfter"/> when the provider said how long to wait. <see cref="Refused"/>: the provider answered with
/// an error status (recorded as <c>refused</c> rather than <c>failed</c>). <see cref="ServerFault"/>: that status was a 5xx
/// or 408, the provider's own failure, which the model's circuit breaker counts (a 4xx is the request's and is not counted).
/// </summary>
public sealed record ProviderFailure(string Message, bool RateLimited = false, bool Refused = false, TimeSpan? RetryAfter = null, bool ServerFault = false)
{
    public static bool IsServerFault(int status) => status is 408 or >= 500;

    public static readonly ProviderFailure RateLimitedFailure = new("The language model is rate limited (HTTP 429) and did not answer within its retries; ask again later.", RateLimited: true);
    public static readonly ProviderFailure Unreachable = new("The language model could not be reached.");
    public static readonly ProviderFailure CutOff = new("The language model's answer was cut off.");
}

/// <summary>
/// Signs Bedrock calls with whatever the AWS credentials are at the time: role credentials expire and the SDK renews
/// them, so they are read per call, and found on first use rather than at start-up (an instance role may answer late).
/// </summary>
internal sealed class AwsChainBedrockCredentials(string region, AWSCredentials? configured) : IAnthropicBedrockCredentials
{
    private readonly Lazy<AWSCredentials> _credentials = new(
        () => configured ?? new DefaultAWSCredentialsIdentityResolver().ResolveIdentity(null) ?? throw new AmazonClientException("The AWS SDK found no credentials."),
        LazyThreadSafetyMode.PublicationOnly);

    public string Region => region;

    public async Task Apply(HttpRequestMessage requestMessage)
    {
        var current = await _credentials.Value.GetCredentialsAsync();
        // Role credentials are temporary: their session token goes in a header, added first so the signature covers it
        // (the package's key credentials sign every header present and have no token of their own).
        if (current.UseToken)
            requestMessage.Headers.TryAddWithoutValidation("x-amz-security-token", current.Token);
        await new AnthropicBedrockPrivateKeyCredentials
        {
            Region = region,
            ApiAccessKey = current.AccessKey,
            ApiSecret = current.SecretKey,
        }.Apply(requestMessage);
    }
}
