using System.Globalization;
using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;

namespace Sagas.Modules.Usage;

/// <summary>
/// The one price table of every model call (the workflows' and the assistant's): rows per provider and model with
/// effective dates, from <c>Prices</c> (or, when that is absent, the older <c>PromptAnalyses:Prices</c>), else the
/// built-in defaults.
/// </summary>
public sealed class PriceTable
{
    public const string SectionName = "Prices";

    /// <summary>Read when <see cref="SectionName"/> is absent, so configurations written before the table was shared keep working.</summary>
    public const string LegacySectionName = "PromptAnalyses:Prices";

    /// <summary>Matches any model of the row's provider, after every named model.</summary>
    public const string AnyModel = "*";

    /// <summary>The date the built-in prices were checked (PROVIDERS.md).</summary>
    public static readonly DateTimeOffset DefaultsEffectiveFrom = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);

    // Prompt analyses name providers after their platform, the assistant after the vendor: one row serves both.
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["anthropic"] = "claude",
        ["google"] = "gemini",
    };

    private readonly IReadOnlyList<ModelPrice> _prices;

    public PriceTable(IEnumerable<ModelPrice> prices, string section = SectionName)
    {
        _prices = prices.ToList();
        Validate(_prices, section);
    }

    public IReadOnlyList<ModelPrice> Prices => _prices;

    /// <summary>PROVIDERS.md gives no cached-input rates: cached tokens cost the input rate until configured.</summary>
    public static IReadOnlyList<ModelPrice> Defaults() =>
    [
        Tokens("openai", "gpt-6-luna", 0.10m, 0.50m, batchDiscount: 0.5m),
        Tokens("openai", "gpt-6-sol", 2.00m, 10.00m, batchDiscount: 0.5m),
        Tokens("openai", "gpt-6.2-sol", 2.00m, 10.00m, batchDiscount: 0.5m),
        Tokens("claude", "claude-sonnet-5-5", 2.00m, 10.00m, batchDiscount: 0.5m),
        Tokens("claude", "claude-opus-5-5", 4.00m, 20.00m, batchDiscount: 0.5m),
        Tokens("gemini", "gemini-3.8-flash", 0.75m, 3.75m),
        new ModelPrice
        {
            Provider = "perplexity",
            Model = "perplexity/sonar",
            PerWebSearch = 0.005m,
            EffectiveFrom = DefaultsEffectiveFrom,
        },
        Tokens("simulated", AnyModel, 0m, 0m, batchDiscount: 0.5m),
    ];

    /// <summary>The configured table, or the defaults when neither section is present. Invalid rows stop start-up.</summary>
    public static PriceTable Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        var legacy = configuration.GetSection(LegacySectionName);
        if (section.GetChildren().Any() && legacy.GetChildren().Any())
            throw new SagasConfigurationException($"Both {SectionName} and {LegacySectionName} are set; keep the price rows under {SectionName} only.");
        var chosen = section.GetChildren().Any() ? section : legacy;
        if (!chosen.GetChildren().Any())
            return new PriceTable(Defaults());

        // Bound into an empty list: binding onto pre-filled defaults would merge rows by index.
        var prices = new List<ModelPrice>();
        chosen.Bind(prices);
        return new PriceTable(prices, chosen.Path);
    }

    /// <summary>
    /// The cost of one call. Token prices: uncached input, cached input (part of <paramref name="inputTokens"/>, as
    /// providers report it) and output tokens per million, less the batch discount, plus
    /// <see cref="ModelPrice.PerWebSearch"/> per search. Provider-reported prices: the provider's token cost plus the
    /// per-search price.
    /// </summary>
    /// <param name="providerTokenCost">The provider's own cost for tokens only (without its tool charges).</param>
    public CostQuote Quote(
        string provider,
        string model,
        long inputTokens,
        long outputTokens,
        int webSearchCalls,
        DateTimeOffset at,
        decimal? providerTokenCost = null,
        bool batch = false,
        long cachedInputTokens = 0)
    {
        var price = Find(provider, model, at);
        if (price is null)
        {
            return new CostQuote(null, null,
                $"No price for {provider}/{model} effective at {at.ToString("u", CultureInfo.InvariantCulture)} in {SectionName}; cost left empty.");
        }

        var searches = price.PerWebSearch * webSearchCalls;
        if (price.UsesProviderReportedCost)
        {
            return providerTokenCost is { } reported
                ? new CostQuote(reported + searches, price, null)
                : new CostQuote(null, price, $"{price} uses the provider-reported cost, but the response reported none; cost left empty.");
        }

        var cached = Math.Clamp(cachedInputTokens, 0, Math.Max(0, inputTokens));
        var input = price.InputPerMillion ?? 0m;
        var tokens = ((inputTokens - cached) * input + cached * (price.CachedInputPerMillion ?? input) + outputTokens * (price.OutputPerMillion ?? 0m)) / 1_000_000m;
        string? warning = null;
        if (batch)
        {
            if (price.BatchDiscount is { } discount)
                tokens *= 1m - discount;
            else
                warning = $"{price} has no batch discount; full price charged.";
        }

        return new CostQuote(Math.Round(tokens + searches, 8), price, warning);
    }

    /// <summary>
    /// The latest row effective at <paramref name="at"/> for the provider whose model is the call's model, else the
    /// longest configured model the call's model is a dated snapshot of (<c>gpt-6-luna-2026-08-01</c> → <c>gpt-6-luna</c>),
    /// else the provider's <c>*</c> row.
    /// </summary>
    public ModelPrice? Find(string provider, string model, DateTimeOffset at)
    {
        var candidates = _prices
            .Where(price => SameProvider(price.Provider, provider) && price.EffectiveFrom <= at)
            .ToList();
        var exact = candidates.Where(price => string.Equals(price.Model, model, StringComparison.OrdinalIgnoreCase)).ToList();
        var matches = exact.Count > 0
            ? exact
            : candidates
                .Where(price => model.StartsWith(price.Model + "-", StringComparison.OrdinalIgnoreCase))
                .GroupBy(price => price.Model.Length)
                .OrderByDescending(group => group.Key)
                .FirstOrDefault()?.ToList() ?? [];
        if (matches.Count == 0)
            matches = candidates.Where(price => price.Model == AnyModel).ToList();
        return matches.OrderByDescending(price => price.EffectiveFrom).FirstOrDefault();
    }

    /// <summary>Provider names compare case-insensitively, <c>anthropic</c> as <c>claude</c> and <c>google</c> as <c>gemini</c>.</summary>
    public static bool SameProvider(string a, string b) => string.Equals(Canonical(a), Canonical(b), StringComparison.OrdinalIgnoreCase);

    private static string Canonical(string provider)
    {
        var trimmed = provider.Trim();
        return Aliases.GetValueOrDefault(trimmed, trimmed);
    }

    private static ModelPrice Tokens(string provider, string model, decimal input, decimal output, decimal? batchDiscount = null) => new()
    {
        Provider = provider,
        Model = model,
        InputPerMillion = input,
        OutputPerMillion = output,
        BatchDiscount = batchDiscount,
        EffectiveFrom = DefaultsEffectiveFrom,
    };

    private static void Validate(IReadOnlyList<ModelPrice> prices, string section)
    {
        var errors = new List<string>();
        for (var index = 0; index < prices.Count; index++)
        {
            var price = prices[index];
            var path = $"{section}:{index}";
            if (string.IsNullOrWhiteSpace(price.Provider))
                errors.Add($"{path}:Provider is empty (e.g. openai, claude, gemini, perplexity, bedrock, simulated).");
            if (string.IsNullOrWhiteSpace(price.Model))
                errors.Add($"{path}:Model is empty.");
            if (price.InputPerMillion < 0)
                errors.Add($"{path}:InputPerMillion is negative.");
            if (price.CachedInputPerMillion < 0)
                errors.Add($"{path}:CachedInputPerMillion is negative.");
            if (price.OutputPerMillion < 0)
                errors.Add($"{path}:OutputPerMillion is negative.");
            if (price.InputPerMillion is null != price.OutputPerMillion is null)
                errors.Add($"{path}: set both InputPerMillion and OutputPerMillion, or neither to use the provider-reported cost.");
            if (price.PerWebSearch < 0)
                errors.Add($"{path}:PerWebSearch is negative.");
            if (price.BatchDiscount is < 0 or > 1)
                errors.Add($"{path}:BatchDiscount must be between 0 and 1 (0.5 = half price).");
            if (price.EffectiveFrom == default)
                errors.Add($"{path}:EffectiveFrom is missing (e.g. 2026-11-23).");
        }

        var duplicates = prices
            .GroupBy(price => (Provider: Canonical(price.Provider).ToLowerInvariant(), Model: price.Model.Trim().ToLowerInvariant(), price.EffectiveFrom))
            .Where(group => group.Count() > 1)
            .Select(group => $"{group.Key.Provider}/{group.Key.Model}@{group.Key.EffectiveFrom:yyyy-MM-dd}");
        errors.AddRange(duplicates.Select(duplicate => $"{section} lists {duplicate} more than once."));

        if (errors.Count > 0)
            throw new SagasConfigurationException("Invalid price table: " + string.Join(" ", errors));
    }
}
