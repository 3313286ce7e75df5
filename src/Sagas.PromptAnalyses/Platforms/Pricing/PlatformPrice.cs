namespace Sagas.PromptAnalyses.Platforms.Pricing;

/// <summary>
/// One row of <c>PromptAnalyses:Prices</c>: USD per million tokens for a model from a date on. When both token prices
/// are left empty the provider's own reported cost is used instead (Perplexity reports it on every response).
/// </summary>
public sealed class PlatformPrice
{
    public string Platform { get; set; } = "";

    /// <summary>Exact model name; a provider's dated snapshot (<c>{model}-2026-08-01</c>) also matches.</summary>
    public string Model { get; set; } = "";

    public decimal? InputPerMillion { get; set; }

    public decimal? OutputPerMillion { get; set; }

    /// <summary>Added per web search the provider reports having run.</summary>
    public decimal PerWebSearch { get; set; }

    /// <summary>Fraction taken off token prices for batch requests (0.5 = half price); null = no batch price.</summary>
    public decimal? BatchDiscount { get; set; }

    /// <summary>The price applies to answers from this instant on, until a later row for the same model.</summary>
    public DateTimeOffset EffectiveFrom { get; set; }

    public bool UsesProviderReportedCost => InputPerMillion is null && OutputPerMillion is null;

    public override string ToString() => $"{Platform}/{Model}@{EffectiveFrom:yyyy-MM-dd}";
}
