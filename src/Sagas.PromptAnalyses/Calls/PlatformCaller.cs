using Sagas.PromptAnalyses.Platforms;

namespace Sagas.PromptAnalyses.Calls;

/// <summary>
/// One attempt per call, no shared budget. The cluster-wide limiter and retry policy replace this class; until
/// then it keeps the contract: provider failures become outcomes, never exceptions.
/// </summary>
internal sealed class PlatformCaller(IAnalysisPlatformCatalog catalog, TimeProvider time) : IPlatformCaller
{
    public async Task<PlatformCallOutcome> CallAsync(string platform, string prompt, string? model, CancellationToken cancellationToken)
    {
        if (!catalog.Contains(platform))
        {
            return PlatformCallOutcome.Failure(new PlatformError
            {
                Platform = platform,
                Model = model,
                Kind = PlatformErrorKind.InvalidRequest,
                IsTransient = false,
                Message = $"Platform '{platform}' is not available here. Available: {string.Join(", ", catalog.Names)}.",
                RateLimit = RateLimitSnapshot.None(time.GetUtcNow()),
            }, 0);
        }

        try
        {
            var answer = await catalog.Get(platform).AskAsync(prompt, model, cancellationToken);
            return PlatformCallOutcome.Success(answer, 1);
        }
        catch (PlatformCallException exception)
        {
            return PlatformCallOutcome.Failure(exception.Error, 1);
        }
    }
}
