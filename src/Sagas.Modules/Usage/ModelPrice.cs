namespace Sagas.Modules.Usage;

/// <summary>
/// One row of the price table (<c>Prices</c>): USD per million tokens of one provider's model from a date on. When both
/// token prices are left empty the provider's own reported cost is used instead (Perplexity reports it on every response).
/// </summary>
public sealed class ModelPrice
{
    /// <summary>
    /// The provider as the caller names it (<c>openai</c>, <c>claude</c> or <c>anthropic</c>, <c>gemini</c> or <c>google</c>,
    /// <c>perplexity</c>, <c>bedrock</c>, <c>simulated</c>); case-insensitive, with the aliases of <see cref="PriceTable.SameProvider"/>.
    /// </summary>
    public string Provider { get; set; } = "";

    /// <summary>The name rows of <c>PromptAnalyses:Prices</c> gave the provider; read into <see cref="Provider"/>.</summary>
    public string? Platform
    {
        get => null;
        set
        {
            if (!string.IsNullOrWhiteSpace(value) && string.IsNullOrWhiteSpace(Provider))
                Provider = value;
        }
    }

    /// <summary>Exact model name; a provider's dated snapshot (<c>{model}-2026-08-01</c>) also matches; <c>*</c> matches any model of the provider.</summary>
    public string Model { get; set; } = "";

    public decimal? InputPerMillion { get; set; }

    /// <summary>Input tokens the provider served from its prompt cache; the input price when not set.</summary>
    public decimal? CachedInputPerMillion { get; set; }

    public decimal? OutputPerMillion { get; set; }

    /// <summary>Added per web search the provider reports having run.</summary>
    public decimal PerWebSearch { get; set; }

    /// <summary>Fraction taken off token prices for batch requests (0.5 = half price); null = no batch price.</summary>
    public decimal? BatchDiscount { get; set; }

    /// <summary>The price applies to calls from this instant on, until a later row for the same model.</summary>
    public DateTimeOffset EffectiveFrom { get; set; }

    public bool UsesProviderReportedCost => InputPerMillion is null && OutputPerMillion is null;

    public override string ToString() => $"{Provider}/{Model}@{EffectiveFrom:yyyy-MM-dd}";
}

/// <summary>What a call cost under the price table; <see cref="Cost"/> is null with a <see cref="Warning"/> when no price applies.</summary>
public sealed record CostQuote(decimal? Cost, ModelPrice? Price, string? Warning);
