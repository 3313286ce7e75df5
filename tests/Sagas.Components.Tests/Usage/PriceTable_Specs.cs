using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;
using Sagas.Modules.Usage;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.Usage;

public class When_pricing_an_answer
{
    private static readonly DateTimeOffset Today = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
    private readonly PriceTable _defaults = new(PriceTable.Defaults());

    [Theory]
    [InlineData(PlatformNames.OpenAi, "gpt-6-luna", 1_000_000, 1_000_000, 0.60)]
    [InlineData(PlatformNames.OpenAi, "gpt-6-sol", 1_000_000, 1_000_000, 12.00)]
    [InlineData(PlatformNames.OpenAi, "gpt-6.2-sol", 500_000, 100_000, 2.00)]
    [InlineData(PlatformNames.Claude, "claude-sonnet-5-5", 1_000_000, 1_000_000, 12.00)]
    [InlineData(PlatformNames.Claude, "claude-opus-5-5", 1_000_000, 1_000_000, 24.00)]
    [InlineData(PlatformNames.Gemini, "gemini-3.8-flash", 1_000_000, 1_000_000, 4.50)]
    public void Should_charge_the_default_token_prices(string platform, string model, long input, long output, double expected)
    {
        var quote = _defaults.Quote(platform, model, input, output, webSearchCalls: 0, Today);

        Assert.Equal((decimal)expected, quote.Cost);
        Assert.Null(quote.Warning);
    }

    [Fact]
    public void Should_add_perplexitys_search_price_to_its_reported_token_cost()
    {
        var quote = _defaults.Quote(PlatformNames.Perplexity, "perplexity/sonar", 800, 200, webSearchCalls: 3, Today, providerTokenCost: 0.001m);

        Assert.Equal(0.016m, quote.Cost);
    }

    [Fact]
    public void Should_leave_the_cost_empty_with_a_warning_for_an_unknown_model()
    {
        var quote = _defaults.Quote(PlatformNames.OpenAi, "gpt-7-nova", 1000, 1000, 0, Today);

        Assert.Null(quote.Cost);
        Assert.Contains("gpt-7-nova", quote.Warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_not_price_an_answer_before_the_effective_date()
    {
        var quote = _defaults.Quote(PlatformNames.OpenAi, "gpt-6-luna", 1000, 1000, 0, PriceTable.DefaultsEffectiveFrom.AddDays(-1));

        Assert.Null(quote.Cost);
        Assert.NotNull(quote.Warning);
    }

    [Fact]
    public void Should_apply_the_latest_price_effective_at_the_answer_time()
    {
        var table = new PriceTable(
        [
            Price("gpt-6-luna", 0.10m, new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero)),
            Price("gpt-6-luna", 0.20m, new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)),
        ]);

        Assert.Equal(0.10m, table.Quote(PlatformNames.OpenAi, "gpt-6-luna", 1_000_000, 0, 0, new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero)).Cost);
        Assert.Equal(0.20m, table.Quote(PlatformNames.OpenAi, "gpt-6-luna", 1_000_000, 0, 0, new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)).Cost);
    }

    [Fact]
    public void Should_match_the_longest_model_a_dated_snapshot_belongs_to()
    {
        var table = new PriceTable([Price("gpt-6", 1m, PriceTable.DefaultsEffectiveFrom), Price("gpt-6-luna", 0.10m, PriceTable.DefaultsEffectiveFrom)]);

        Assert.Equal("gpt-6-luna", table.Find(PlatformNames.OpenAi, "gpt-6-luna-2026-08-01", Today)?.Model);
        Assert.Null(table.Find(PlatformNames.OpenAi, "gpt-6luna", Today));
    }

    [Fact]
    public void Should_take_the_batch_discount_off_token_prices()
    {
        var quote = _defaults.Quote(PlatformNames.Claude, "claude-opus-5-5", 1_000_000, 1_000_000, 0, Today, batch: true);

        Assert.Equal(12.00m, quote.Cost);
    }

    [Fact]
    public void Should_read_a_configured_table_instead_of_the_defaults()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PromptAnalyses:Prices:0:Platform"] = "claude",
            ["PromptAnalyses:Prices:0:Model"] = "claude-sonnet-5-5",
            ["PromptAnalyses:Prices:0:InputPerMillion"] = "3.5",
            ["PromptAnalyses:Prices:0:OutputPerMillion"] = "15",
            ["PromptAnalyses:Prices:0:PerWebSearch"] = "0.01",
            ["PromptAnalyses:Prices:0:EffectiveFrom"] = "2026-11-01",
        }).Build();

        var table = PriceTable.Read(configuration);

        Assert.Single(table.Prices);
        Assert.Equal(3.51m, table.Quote(PlatformNames.Claude, "claude-sonnet-5-5", 1_000_000, 0, 1, Today).Cost);
    }

    [Theory]
    [InlineData("Model", "")]
    [InlineData("InputPerMillion", "-1")]
    [InlineData("PerWebSearch", "-0.005")]
    [InlineData("BatchDiscount", "1.5")]
    [InlineData("EffectiveFrom", "")]
    public void Should_refuse_an_invalid_row_at_start_up(string key, string value)
    {
        var settings = new Dictionary<string, string?>
        {
            ["PromptAnalyses:Prices:0:Platform"] = "openai",
            ["PromptAnalyses:Prices:0:Model"] = "gpt-6-luna",
            ["PromptAnalyses:Prices:0:InputPerMillion"] = "0.1",
            ["PromptAnalyses:Prices:0:OutputPerMillion"] = "0.5",
            ["PromptAnalyses:Prices:0:EffectiveFrom"] = "2026-11-23",
        };
        settings[$"PromptAnalyses:Prices:0:{key}"] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

        var error = Assert.Throws<SagasConfigurationException>(() => PriceTable.Read(configuration));

        Assert.Contains($"PromptAnalyses:Prices:0:{key}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_price_cached_input_tokens_at_the_cached_rate_as_a_part_of_the_input()
    {
        var table = new PriceTable([new ModelPrice
        {
            Provider = "openai", Model = "gpt-6-luna", InputPerMillion = 1m, CachedInputPerMillion = 0.25m, OutputPerMillion = 4m,
            BatchDiscount = 0.5m, EffectiveFrom = PriceTable.DefaultsEffectiveFrom,
        }]);

        // 600k uncached at 1, 400k cached at 0.25, 100k out at 4.
        Assert.Equal(1.10m, table.Quote("openai", "gpt-6-luna", 1_000_000, 100_000, 0, Today, cachedInputTokens: 400_000).Cost);
        Assert.Equal(0.55m, table.Quote("openai", "gpt-6-luna", 1_000_000, 100_000, 0, Today, batch: true, cachedInputTokens: 400_000).Cost);
    }

    [Fact]
    public void Should_price_cached_tokens_at_the_input_rate_when_no_cached_rate_is_configured()
    {
        var quote = _defaults.Quote("openai", "gpt-6-luna", 1_000_000, 0, 0, Today, cachedInputTokens: 1_000_000);

        Assert.Equal(0.10m, quote.Cost);
    }

    [Fact]
    public void Should_warn_and_charge_full_price_for_a_batch_call_without_a_batch_discount()
    {
        var quote = _defaults.Quote(PlatformNames.Gemini, "gemini-3.8-flash", 1_000_000, 0, 0, Today, batch: true);

        Assert.Equal(0.75m, quote.Cost);
        Assert.Contains("no batch discount", quote.Warning, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("anthropic", "claude-sonnet-5-5-20261001")]
    [InlineData("Claude", "claude-sonnet-5-5")]
    public void Should_find_a_provider_under_its_alias_and_a_model_under_its_dated_snapshot(string provider, string model)
    {
        Assert.Equal(12.00m, _defaults.Quote(provider, model, 1_000_000, 1_000_000, 0, Today).Cost);
    }

    [Fact]
    public void Should_price_any_model_of_a_provider_by_its_star_row_after_named_models()
    {
        var table = new PriceTable(
        [
            new ModelPrice { Provider = "simulated", Model = PriceTable.AnyModel, InputPerMillion = 1m, OutputPerMillion = 1m, EffectiveFrom = PriceTable.DefaultsEffectiveFrom },
            new ModelPrice { Provider = "simulated", Model = "simulated-flagger", InputPerMillion = 3m, OutputPerMillion = 3m, EffectiveFrom = PriceTable.DefaultsEffectiveFrom },
        ]);

        Assert.Equal(2m, table.Quote("simulated", "anything", 1_000_000, 1_000_000, 0, Today).Cost);
        Assert.Equal(6m, table.Quote("simulated", "simulated-flagger", 1_000_000, 1_000_000, 0, Today).Cost);
        Assert.Null(table.Quote("openai", "anything", 1, 1, 0, Today).Cost);
    }

    [Fact]
    public void Should_read_the_shared_prices_key_with_provider_rows()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Prices:0:Provider"] = "bedrock",
            ["Prices:0:Model"] = "eu.anthropic.claude-sonnet-5-5",
            ["Prices:0:InputPerMillion"] = "3",
            ["Prices:0:CachedInputPerMillion"] = "0.3",
            ["Prices:0:OutputPerMillion"] = "15",
            ["Prices:0:EffectiveFrom"] = "2026-11-01",
        }).Build();

        var table = PriceTable.Read(configuration);

        Assert.Equal(15.3m, table.Quote("bedrock", "eu.anthropic.claude-sonnet-5-5", 1_000_000, 1_000_000, 0, Today, cachedInputTokens: 1_000_000).Cost);
    }

    [Fact]
    public void Should_refuse_prices_under_both_the_shared_and_the_old_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Prices:0:Provider"] = "openai",
            ["PromptAnalyses:Prices:0:Platform"] = "openai",
        }).Build();

        var error = Assert.Throws<SagasConfigurationException>(() => PriceTable.Read(configuration));

        Assert.Contains("Prices", error.Message, StringComparison.Ordinal);
    }

    private static ModelPrice Price(string model, decimal input, DateTimeOffset from) => new()
    {
        Provider = PlatformNames.OpenAi,
        Model = model,
        InputPerMillion = input,
        OutputPerMillion = input * 5,
        EffectiveFrom = from,
    };
}
