using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;

namespace Sagas.PromptAnalyses.Platforms;

/// <summary>Section <c>PromptAnalyses:Platforms</c>: one subsection per platform.</summary>
public sealed class PlatformsOptions
{
    public const string SectionName = "PromptAnalyses:Platforms";

    public OpenAiPlatformOptions OpenAi { get; set; } = new();

    public ClaudePlatformOptions Claude { get; set; } = new();

    public GeminiPlatformOptions Gemini { get; set; } = new();

    public PerplexityPlatformOptions Perplexity { get; set; } = new();

    public SimulatedPlatformOptions Simulated { get; set; } = new();
}

/// <summary>Settings every real provider shares. The API key is never logged nor shown in errors.</summary>
public abstract class RealPlatformOptions : IValidatableObject
{
    /// <summary>Ask this provider. When false and Simulated:StandInForDisabled is true, a simulated platform answers in its name.</summary>
    public bool Enabled { get; set; }

    /// <summary>Provider root without the version path, so a proxy, regional endpoint or local stub can stand in.</summary>
    [HttpUrl]
    public abstract string BaseUrl { get; set; }

    public string? ApiKey { get; set; }

    [Required]
    public abstract string Model { get; set; }

    /// <summary>Limit for one request including the provider's web searches.</summary>
    [Positive]
    public int TimeoutSeconds { get; set; } = 120;

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    public Uri BaseUri => new(BaseUrl.TrimEnd('/') + "/");

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Enabled && string.IsNullOrWhiteSpace(ApiKey))
        {
            yield return new ValidationResult(
                $"{validationContext.Key(nameof(Enabled))} is true but {validationContext.Key(nameof(ApiKey))} is empty. " +
                "Set the key (e.g. through an environment variable) or disable the platform.");
        }
    }

    public override string ToString() =>
        $"{GetType().Name} {{ Enabled = {Enabled}, BaseUrl = {BaseUrl}, Model = {Model}, TimeoutSeconds = {TimeoutSeconds}, ApiKey = {(string.IsNullOrEmpty(ApiKey) ? "(none)" : "***")} }}";
}

public sealed class OpenAiPlatformOptions : RealPlatformOptions
{
    /// <summary>The SDK endpoint is this plus <c>/v1</c>.</summary>
    public override string BaseUrl { get; set; } = "https://api.openai.com";

    public override string Model { get; set; } = "gpt-6-luna";
}

public sealed class ClaudePlatformOptions : RealPlatformOptions
{
    public override string BaseUrl { get; set; } = "https://api.anthropic.com";

    public override string Model { get; set; } = "claude-sonnet-5-5";

    /// <summary>Messages API <c>max_tokens</c> (required by Anthropic).</summary>
    [Positive]
    public int MaxOutputTokens { get; set; } = 2048;

    /// <summary>The web search tool's <c>max_uses</c>.</summary>
    [Positive]
    public int MaxWebSearches { get; set; } = 3;
}

public sealed class GeminiPlatformOptions : RealPlatformOptions
{
    public override string BaseUrl { get; set; } = "https://generativelanguage.googleapis.com";

    public override string Model { get; set; } = "gemini-3.8-flash";
}

public sealed class PerplexityPlatformOptions : RealPlatformOptions
{
    public override string BaseUrl { get; set; } = "https://api.perplexity.ai";

    public override string Model { get; set; } = "perplexity/sonar";
}

/// <summary>The embedded default: answers generated locally, deterministic from <see cref="Seed"/>.</summary>
public sealed class SimulatedPlatformOptions : IValidatableObject
{
    public bool Enabled { get; set; } = true;

    /// <summary>Answer for every real platform that is not enabled, labelled simulated, so a fresh install runs end to end.</summary>
    public bool StandInForDisabled { get; set; } = true;

    public int Seed { get; set; } = 42;

    [Required]
    public string Model { get; set; } = "simulated-1";

    [NotNegative]
    public int MinLatencyMs { get; set; } = 50;

    public int MaxLatencyMs { get; set; } = 400;

    /// <summary>Share of calls failing with a simulated 500 (transient).</summary>
    [Range(0d, 1d)]
    public double FailureRate { get; set; } = 0.02;

    /// <summary>Share of calls failing with a simulated 429 carrying a Retry-After.</summary>
    [Range(0d, 1d)]
    public double RateLimitRate { get; set; } = 0.02;

    /// <summary>Brand names the simulated text mentions now and then (besides capitalised words of the prompt).</summary>
    public List<string> Brands { get; set; } = [];

    /// <summary>Domains the fake citations point at; a built-in list when empty.</summary>
    public List<string> CitationDomains { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxLatencyMs < MinLatencyMs)
            yield return new ValidationResult($"{validationContext.Key(nameof(MaxLatencyMs))} ({MaxLatencyMs}) is below MinLatencyMs ({MinLatencyMs}).");
        if (FailureRate + RateLimitRate > 1)
            yield return new ValidationResult($"{validationContext.DisplayName}: FailureRate + RateLimitRate exceeds 1.");
    }
}
