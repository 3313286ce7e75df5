using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Sagas.Modules.Breakers;

namespace Sagas.Api.Assistant;

/// <summary>
/// Puts the assistant's model behind its circuit breaker (provider <c>Assistant:Provider</c>, the model the request
/// names or the client's default). It sits outside the provider client and its SDK's retries: a turn that meets an open
/// breaker sends nothing and fails at once as <see cref="AssistantUnavailableException"/> with
/// <see cref="AssistantUnavailableException.RetryAfter"/> set (the question is answered 502 and recorded as failed).
/// Counted as failures: what <see cref="ProviderFailureChatClient"/> reports as a server fault (5xx, 408) or as neither
/// rate limited nor refused (timeouts, unreachable hosts, cut-off answers); a 429 or another 4xx is not.
/// </summary>
public sealed class BreakerChatClient(IChatClient inner, string provider, ProviderBreakers breakers) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (breaker, permit) = await EnterAsync(options, cancellationToken);
        ChatResponse response;
        try
        {
            response = await base.GetResponseAsync(messages, options, cancellationToken);
        }
        catch (AssistantUnavailableException exception)
        {
            await breaker.CompleteAsync(permit, CountsAsFailure(exception), CancellationToken.None);
            throw;
        }

        await breaker.CompleteAsync(permit, failed: false, CancellationToken.None);
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (breaker, permit) = await EnterAsync(options, cancellationToken);
        await using var updates = base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await updates.MoveNextAsync())
                    break;
            }
            catch (AssistantUnavailableException exception)
            {
                await breaker.CompleteAsync(permit, CountsAsFailure(exception), CancellationToken.None);
                throw;
            }

            yield return updates.Current;
        }

        await breaker.CompleteAsync(permit, failed: false, CancellationToken.None);
    }

    internal static bool CountsAsFailure(AssistantUnavailableException exception) => exception.ServerFault || (!exception.RateLimited && !exception.Refused);

    private async Task<(ProviderBreaker Breaker, BreakerPermit Permit)> EnterAsync(ChatOptions? options, CancellationToken cancellationToken)
    {
        var model = options?.ModelId ?? InnerClient.GetService<ChatClientMetadata>()?.DefaultModelId;
        var breaker = breakers.For(provider, model);
        var permit = await breaker.EnterAsync(cancellationToken);
        if (!permit.IsAllowed)
        {
            throw new AssistantUnavailableException($"The assistant's model is not being called for now: the circuit breaker of {breaker.Key} is open after repeated failures.")
            {
                RetryAfter = permit.RetryAfter,
            };
        }

        return (breaker, permit);
    }
}
