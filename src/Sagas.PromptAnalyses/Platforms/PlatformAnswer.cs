using System.Text.Json;
using System.Text.Json.Serialization;
using Sagas.Core.Http;

namespace Sagas.PromptAnalyses.Platforms;

/// <summary>A platform's answer to one prompt, in the same shape whichever provider produced it.</summary>
public sealed record PlatformAnswer
{
    public required string Platform { get; init; }

    public required bool IsSimulated { get; init; }

    /// <summary>The model the provider reports having used (may be a dated snapshot of the requested one).</summary>
    public required string Model { get; init; }

    public required string Text { get; init; }

    public required long InputTokens { get; init; }

    public required long OutputTokens { get; init; }

    /// <summary>Input tokens served from the provider's prompt cache (a part of <see cref="InputTokens"/>); 0 where the provider does not say.</summary>
    public long CachedInputTokens { get; init; }

    public required long TotalTokens { get; init; }

    /// <summary>USD from the configured price table; null when no price applies (a warning says why).</summary>
    public decimal? Cost { get; init; }

    public required TimeSpan ExecutionTime { get; init; }

    /// <summary>Citations in answer order, de-duplicated by URL, positions 1..n.</summary>
    public required IReadOnlyList<Citation> Citations { get; init; }

    public required AnswerMetadata Metadata { get; init; }

    /// <summary>What the provider's rate-limit headers said on this response (empty for providers that send none).</summary>
    public required RateLimitSnapshot RateLimit { get; init; }
}

/// <summary>One source the answer cites.</summary>
/// <param name="Url">The cited URL as the provider returned it (for Gemini a Google redirect URL).</param>
/// <param name="Domain">Lower-case host without a leading <c>www.</c>.</param>
/// <param name="Title">The page title when the provider gave one.</param>
/// <param name="Position">1-based rank in the answer after de-duplication.</param>
/// <param name="Snippet">Cited text or search snippet when the provider gave one.</param>
public sealed record Citation(string Url, string Domain, string? Title, int Position, string? Snippet = null);

/// <summary>The small provider-specific facts worth keeping with a response (stored as JSON, see <see cref="ToJson"/>).</summary>
public sealed record AnswerMetadata
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string? ResponseId { get; init; }

    /// <summary>Provider's stop/finish reason (end_turn, STOP, completed, incomplete:max_output_tokens, ...).</summary>
    public string? FinishReason { get; init; }

    public int WebSearchCalls { get; init; }

    public IReadOnlyList<string>? SearchQueries { get; init; }

    /// <summary>Cost as the provider reported it, when it reports one (Perplexity).</summary>
    public decimal? ProviderReportedCost { get; init; }

    /// <summary>Price-table entry applied, as platform/model@effectiveFrom.</summary>
    public string? PriceApplied { get; init; }

    public bool Simulated { get; init; }

    public IReadOnlyList<string> Warnings { get; init; } = [];

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}
