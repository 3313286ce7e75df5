using System.Globalization;
using Microsoft.Extensions.Configuration;
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

    /// <summary>Binds and validates the section; throws <see cref="SagasConfigurationException"/> listing every problem.</summary>
    public static PlatformsOptions Read(IConfiguration configuration)
    {
        var options = new PlatformsOptions();
        configuration.GetSection(SectionName).Bind(options);
        options.Validate();
        return options;
    }

    public void Validate()
    {
        var errors = new List<string>();
        OpenAi.Validate($"{SectionName}:{nameof(OpenAi)}", errors);
        Claude.Validate($"{SectionName}:{nameof(Claude)}", errors);
        Gemini.Validate($"{SectionName}:{nameof(Gemini)}", errors);
        Perplexity.Validate($"{SectionName}:{nameof(Perplexity)}", errors);
        Simulated.Validate($"{SectionName}:{nameof(Simulated)}", errors);
        if (errors.Count > 0)
            throw new SagasConfigurationException("Invalid platform configuration: " + string.Join(" ", errors));
    }
}

/// <summary>Settings every real provider shares. The API key is never logged nor shown in errors.</summary>
public abstract class RealPlatformOptions
{
    /// <summary>Ask this provider. When false and Simulated:StandInForDisabled is true, a simulated platform answers in its name.</summary>
    public bool Enabled { get; set; }

    /// <summary>Provider root without the version path, so a proxy, regional endpoint or local stub can stand in.</summary>
    public abstract string BaseUrl { get; set; }

    public string? ApiKey { get; set; }

    public abstract string Model { get; set; }

    /// <summary>Limit for one request including the provider's web searches.</summary>
    public int TimeoutSeconds { get; set; } = 120;

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    public Uri BaseUri => new(BaseUrl.TrimEnd('/') + "/");

    internal virtual void Validate(string path, List<string> errors)
    {
        if (TimeoutSeconds <= 0)
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{path}:TimeoutSeconds is {TimeoutSeconds}; it must be positive."));
        if (string.IsNullOrWhiteSpace(Model))
            errors.Add($"{path}:Model is empty.");
        if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            errors.Add($"{path}:BaseUrl is '{BaseUrl}'; it must be an absolute http(s) URL.");
        if (Enabled && string.IsNullOrWhiteSpace(ApiKey))
            errors.Add($"{path}:Enabled is true but {path}:ApiKey is empty. Set the key (e.g. through an environment variable) or disable the platform.");
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
    public int MaxOutputTokens { get; set; } = 2048;

    /// <summary>The web search tool's <c>max_uses</c>.</summary>
    public int MaxWebSearches { get; set; } = 3;

    internal override void Validate(string path, List<string> errors)
    {
        base.Validate(path, errors);
        if (MaxOutputTokens <= 0)
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{path}:MaxOutputTokens is {MaxOutputTokens}; it must be positive."));
        if (MaxWebSearches <= 0)
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{path}:MaxWebSearches is {MaxWebSearches}; it must be positive."));
    }
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
public sealed class SimulatedPlatformOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Answer for every real platform that is not enabled, labelled simulated, so a fresh install runs end to end.</summary>
    public bool StandInForDisabled { get; set; } = true;

    public int Seed { get; set; } = 42;

    public string Model { get; set; } = "simulated-1";

    public int MinLatencyMs { get; set; } = 50;

    public int MaxLatencyMs { get; set; } = 400;

    /// <summary>Share of calls failing with a simulated 500 (transient).</summary>
    public double FailureRate { get; set; } = 0.02;

    /// <summary>Share of calls failing with a simulated 429 carrying a Retry-After.</summary>
    public double RateLimitRate { get; set; } = 0.02;

    /// <summary>Brand names the simulated text mentions now and then (besides capitalised words of the prompt).</summary>
    public List<string> Brands { get; set; } = [];

    /// <summary>Domains the fake citations point at; a built-in list when empty.</summary>
    public List<string> CitationDomains { get; set; } = [];

    internal void Validate(string path, List<string> errors)
    {
        if (MinLatencyMs < 0)
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{path}:MinLatencyMs is {MinLatencyMs}; it must not be negative."));
        if (MaxLatencyMs < MinLatencyMs)
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{path}:MaxLatencyMs ({MaxLatencyMs}) is below MinLatencyMs ({MinLatencyMs})."));
        if (FailureRate is < 0 or > 1 || double.IsNaN(FailureRate))
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{path}:FailureRate is {FailureRate}; it must be between 0 and 1."));
        if (RateLimitRate is < 0 or > 1 || double.IsNaN(RateLimitRate))
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{path}:RateLimitRate is {RateLimitRate}; it must be between 0 and 1."));
        if (FailureRate + RateLimitRate > 1)
            errors.Add($"{path}: FailureRate + RateLimitRate exceeds 1.");
        if (string.IsNullOrWhiteSpace(Model))
            errors.Add($"{path}:Model is empty.");
    }
}
