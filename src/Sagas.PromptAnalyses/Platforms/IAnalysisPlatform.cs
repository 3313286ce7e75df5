namespace Sagas.PromptAnalyses.Platforms;

/// <summary>
/// One AI platform asked a tracked prompt with web search enabled. Implementations make exactly one provider request
/// per call and never retry: the caller's policy owns retries and the cluster-wide rate limit, and needs to see every
/// attempt.
/// </summary>
public interface IAnalysisPlatform
{
    /// <summary>openai | claude | gemini | perplexity | simulated (see <see cref="PlatformNames"/>).</summary>
    string Name { get; }

    /// <summary>True when answers are generated locally (the embedded default), not by the provider.</summary>
    bool IsSimulated { get; }

    /// <summary>The model asked when the caller passes none.</summary>
    string DefaultModel { get; }

    /// <summary>Asks the prompt and returns the normalised answer.</summary>
    /// <exception cref="PlatformCallException">
    /// The provider refused, failed or answered something unreadable; <see cref="PlatformCallException.Error"/> says
    /// whether a retry can help and when.
    /// </exception>
    /// <exception cref="OperationCanceledException">Only when <paramref name="cancellationToken"/> was cancelled.</exception>
    Task<PlatformAnswer> AskAsync(string prompt, string? model = null, CancellationToken cancellationToken = default);
}
