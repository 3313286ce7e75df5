using Sagas.PromptAnalyses.Platforms;

namespace Sagas.PromptAnalyses.Calls;

/// <summary>
/// Asks one platform one prompt under the cluster-wide limits (requests and tokens per minute, lowered by the
/// provider's rate-limit headers) with the retry policy (exponential backoff with jitter, Retry-After honoured,
/// permanent errors not retried). The analysis workflow calls only this, never <see cref="IAnalysisPlatform"/>
/// directly, so every attempt is counted against the shared budget.
/// </summary>
public interface IPlatformCaller
{
    /// <summary>Never throws for provider failures: they come back as <see cref="PlatformCallOutcome.Error"/>.</summary>
    /// <exception cref="OperationCanceledException">Only when <paramref name="cancellationToken"/> was cancelled.</exception>
    Task<PlatformCallOutcome> CallAsync(string platform, string prompt, string? model, CancellationToken cancellationToken);
}

/// <summary>The end of one platform call after every retry: exactly one of <see cref="Answer"/> and <see cref="Error"/> is set.</summary>
/// <param name="Attempts">Requests actually sent to the provider (0 when the platform is unknown here).</param>
public sealed record PlatformCallOutcome(PlatformAnswer? Answer, PlatformError? Error, int Attempts)
{
    public bool Succeeded => Answer is not null;

    public static PlatformCallOutcome Success(PlatformAnswer answer, int attempts) => new(answer, null, attempts);

    public static PlatformCallOutcome Failure(PlatformError error, int attempts) => new(null, error, attempts);
}
