using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Sagas.Api.Assistant;

/// <summary>
/// Turns a provider's failures (an HTTP error, a timeout, an unreachable host) into
/// <see cref="AssistantUnavailableException"/>, which <c>POST /ai/ask</c> answers with 502. Each provider's SDK throws
/// its own exceptions, so each provider says which are failures and what of them is safe to show (the status, never
/// the body, which can echo the prompt or account details); the exception itself is only logged.
/// </summary>
public sealed class ProviderFailureChatClient(IChatClient inner, string provider, Func<Exception, ProviderFailure?> describe, ILogger logger)
    : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var retryAfter = new StrongBox<TimeSpan?>();
        ProviderRetryAfter.Watch(retryAfter);
        try
        {
            return await base.GetResponseAsync(messages, options, cancellationToken);
        }
        catch (Exception exception) when (Unavailable(exception, retryAfter, cancellationToken) is { } unavailable)
        {
            throw unavailable;
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var retryAfter = new StrongBox<TimeSpan?>();
        await using var updates = base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            // Set before every step: an iterator resumes in its caller's async flow, not the one it set before.
            ProviderRetryAfter.Watch(retryAfter);
            try
            {
                if (!await updates.MoveNextAsync())
                    yield break;
            }
            catch (Exception exception) when (Unavailable(exception, retryAfter, cancellationToken) is { } unavailable)
            {
                throw unavailable;
            }

            yield return updates.Current;
        }
    }

    private AssistantUnavailableException? Unavailable(Exception exception, StrongBox<TimeSpan?> retryAfter, CancellationToken cancellationToken)
    {
        // The caller hanging up is not the provider's failure.
        if (cancellationToken.IsCancellationRequested || describe(exception) is not { } failure)
            return null;
        logger.LogWarning(exception, "The assistant's {Provider} model failed: {Reason}", provider, failure.Message);
        return new AssistantUnavailableException(failure.Message, exception)
        {
            RateLimited = failure.RateLimited,
            Refused = failure.Refused,
            ServerFault = failure.ServerFault,
            RetryAfter = failure.RateLimited ? failure.RetryAfter ?? retryAfter.Value : null,
        };
    }
}
