namespace Sagas.PromptAnalyses.Platforms.Http;

/// <summary>What a provider's successful answer contained, before pricing and normalisation.</summary>
internal sealed record ProviderReply
{
    public required string Model { get; init; }

    public required string Text { get; init; }

    public long InputTokens { get; init; }

    public long OutputTokens { get; init; }

    /// <summary>Input tokens served from the provider's prompt cache (a part of <see cref="InputTokens"/>).</summary>
    public long CachedInputTokens { get; init; }

    /// <summary>The provider's total when it reports one; otherwise input + output.</summary>
    public long? TotalTokens { get; init; }

    public IReadOnlyList<RawCitation> Citations { get; init; } = [];

    public string? ResponseId { get; init; }

    public string? FinishReason { get; init; }

    public int WebSearchCalls { get; init; }

    public IReadOnlyList<string>? SearchQueries { get; init; }

    public decimal? ProviderReportedCost { get; init; }

    /// <summary>The provider's cost for tokens alone, priced when the table says to use the provider's cost.</summary>
    public decimal? ProviderTokenCost { get; init; }

    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>Raised while reading a 2xx body that nevertheless reports a failure (Perplexity status failed).</summary>
internal sealed class ProviderReplyFailure(PlatformErrorKind kind, bool isTransient, string? code, string message) : Exception(message)
{
    public PlatformErrorKind Kind { get; } = kind;

    public bool IsTransient { get; } = isTransient;

    public string? Code { get; } = code;
}
