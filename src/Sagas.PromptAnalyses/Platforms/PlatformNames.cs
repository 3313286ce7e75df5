namespace Sagas.PromptAnalyses.Platforms;

/// <summary>The wire names of the analysis platforms, as stored on prompts, responses and in configuration.</summary>
public static class PlatformNames
{
    public const string OpenAi = "openai";
    public const string Claude = "claude";
    public const string Gemini = "gemini";
    public const string Perplexity = "perplexity";
    public const string Simulated = "simulated";

    /// <summary>The four real providers: the default platform set of a tracked prompt.</summary>
    public static IReadOnlyList<string> Real { get; } = [OpenAi, Claude, Gemini, Perplexity];

    public static IReadOnlyList<string> All { get; } = [OpenAi, Claude, Gemini, Perplexity, Simulated];

    /// <summary>The canonical (lower-case) name, or null when the value names no platform this build knows.</summary>
    public static string? Normalize(string? value)
    {
        var trimmed = value?.Trim();
        return All.FirstOrDefault(name => string.Equals(name, trimmed, StringComparison.OrdinalIgnoreCase));
    }
}
