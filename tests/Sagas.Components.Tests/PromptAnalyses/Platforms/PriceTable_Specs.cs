using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;
using Sagas.PromptAnalyses.Platforms;
using Sagas.Modules.Usage;

namespace Sagas.Components.Tests.PromptAnalyses.Platforms;

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
    [InlineData("Platform", "bard")]
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

    private static PlatformPrice Price(string model, decimal input, DateTimeOffset from) => new()
    {
        Platform = PlatformNames.OpenAi,
        Model = model,
        InputPerMillion = input,
        OutputPerMillion = input * 5,
        EffectiveFrom = from,
    };
}
