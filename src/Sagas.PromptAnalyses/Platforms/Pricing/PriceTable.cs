using System.Globalization;
using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;

namespace Sagas.PromptAnalyses.Platforms.Pricing;

/// <summary>What a call cost under the price table; <see cref="Cost"/> is null with a <see cref="Warning"/> when no price applies.</summary>
public sealed record CostQuote(decimal? Cost, PlatformPrice? Price, string? Warning);

/// <summary>Prices per platform and model with effective dates, from <c>PromptAnalyses:Prices</c> or the built-in defaults.</summary>
public sealed class PriceTable
{
    public const string SectionName = "PromptAnalyses:Prices";

    /// <summary>The date the built-in prices were checked (PROVIDERS.md).</summary>
    public static readonly DateTimeOffset DefaultsEffectiveFrom = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);

    private readonly IReadOnlyList<PlatformPrice> _prices;

    public PriceTable(IEnumerable<PlatformPrice> prices)
    {
        _prices = prices.ToList();
        Validate(_prices);
    }

    public IReadOnlyList<PlatformPrice> Prices => _prices;

    public static IReadOnlyList<PlatformPrice> Defaults() =>
    [
        Tokens(PlatformNames.OpenAi, "gpt-6-luna", 0.10m, 0.50m, batchDiscount: 0.5m),
        Tokens(PlatformNames.OpenAi, "gpt-6-sol", 2.00m, 10.00m, batchDiscount: 0.5m),
        Tokens(PlatformNames.OpenAi, "gpt-6.2-sol", 2.00m, 10.00m, batchDiscount: 0.5m),
        Tokens(PlatformNames.Claude, "claude-sonnet-5-5", 2.00m, 10.00m, batchDiscount: 0.5m),
        Tokens(PlatformNames.Claude, "claude-opus-5-5", 4.00m, 20.00m, batchDiscount: 0.5m),
        Tokens(PlatformNames.Gemini, "gemini-3.8-flash", 0.75m, 3.75m),
        new PlatformPrice
        {
            Platform = PlatformNames.Perplexity,
            Model = "perplexity/sonar",
            PerWebSearch = 0.005m,
            EffectiveFrom = DefaultsEffectiveFrom,
        },
        Tokens(PlatformNames.Simulated, "simulated-1", 0m, 0m),
    ];

    /// <summary>The configured table, or the defaults when the section is absent. Invalid rows stop start-up.</summary>
    public static PriceTable Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        if (!section.GetChildren().Any())
            return new PriceTable(Defaults());

        // Bound into an empty list: binding onto pre-filled defaults would merge rows by index.
        var prices = new List<PlatformPrice>();
        section.Bind(prices);
        return new PriceTable(prices);
    }

    /// <summary>
    /// The cost of one call. Token prices: input and output tokens per million, less the batch discount, plus
    /// <see cref="PlatformPrice.PerWebSearch"/> per search. Provider-reported prices: the provider's token cost plus the
    /// per-search price.
    /// </summary>
    /// <param name="providerTokenCost">The provider's own cost for tokens only (without its tool charges).</param>
    public CostQuote Quote(
        string platform,
        string model,
        long inputTokens,
        long outputTokens,
        int webSearchCalls,
        DateTimeOffset at,
        decimal? providerTokenCost = null,
        bool batch = false)
    {
        var price = Find(platform, model, at);
        if (price is null)
        {
            return new CostQuote(null, null,
                $"No price for {platform}/{model} effective at {at.ToString("u", CultureInfo.InvariantCulture)} in {SectionName}; cost left empty.");
        }

        var searches = price.PerWebSearch * webSearchCalls;
        if (price.UsesProviderReportedCost)
        {
            return providerTokenCost is { } reported
                ? new CostQuote(reported + searches, price, null)
                : new CostQuote(null, price, $"{price} uses the provider-reported cost, but the response reported none; cost left empty.");
        }

        var tokens = (inputTokens * (price.InputPerMillion ?? 0m) + outputTokens * (price.OutputPerMillion ?? 0m)) / 1_000_000m;
        string? warning = null;
        if (batch)
        {
            if (price.BatchDiscount is { } discount)
                tokens *= 1m - discount;
            else
                warning = $"{price} has no batch discount; full price charged.";
        }

        return new CostQuote(tokens + searches, price, warning);
    }

    /// <summary>
    /// The latest row effective at <paramref name="at"/> for the platform whose model is the answer's model, or the
    /// longest configured model the answer's model is a dated snapshot of (<c>gpt-6-luna-2026-08-01</c> → <c>gpt-6-luna</c>).
    /// </summary>
    public PlatformPrice? Find(string platform, string model, DateTimeOffset at)
    {
        var candidates = _prices
            .Where(price => string.Equals(price.Platform, platform, StringComparison.OrdinalIgnoreCase) && price.EffectiveFrom <= at)
            .ToList();
        var exact = candidates.Where(price => string.Equals(price.Model, model, StringComparison.OrdinalIgnoreCase)).ToList();
        var matches = exact.Count > 0
            ? exact
            : candidates
                .Where(price => model.StartsWith(price.Model + "-", StringComparison.OrdinalIgnoreCase))
                .GroupBy(price => price.Model.Length)
                .OrderByDescending(group => group.Key)
                .FirstOrDefault()?.ToList() ?? [];
        return matches.OrderByDescending(price => price.EffectiveFrom).FirstOrDefault();
    }

    private static PlatformPrice Tokens(string platform, string model, decimal input, decimal output, decimal? batchDiscount = null) => new()
    {
        Platform = platform,
        Model = model,
        InputPerMillion = input,
        OutputPerMillion = output,
        BatchDiscount = batchDiscount,
        EffectiveFrom = DefaultsEffectiveFrom,
    };

    private static void Validate(IReadOnlyList<PlatformPrice> prices)
    {
        var errors = new List<string>();
        for (var index = 0; index < prices.Count; index++)
        {
            var price = prices[index];
            var path = $"{SectionName}:{index}";
            if (PlatformNames.Normalize(price.Platform) is null)
                errors.Add($"{path}:Platform is '{price.Platform}'; allowed: {string.Join(", ", PlatformNames.All)}.");
            if (string.IsNullOrWhiteSpace(price.Model))
                errors.Add($"{path}:Model is empty.");
            if (price.InputPerMillion < 0)
                errors.Add($"{path}:InputPerMillion is negative.");
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
            .GroupBy(price => (Platform: price.Platform.Trim().ToLowerInvariant(), Model: price.Model.Trim().ToLowerInvariant(), price.EffectiveFrom))
            .Where(group => group.Count() > 1)
            .Select(group => $"{group.Key.Platform}/{group.Key.Model}@{group.Key.EffectiveFrom:yyyy-MM-dd}");
        errors.AddRange(duplicates.Select(duplicate => $"{SectionName} lists {duplicate} more than once."));

        if (errors.Count > 0)
            throw new SagasConfigurationException("Invalid price table: " + string.Join(" ", errors));
    }
}
