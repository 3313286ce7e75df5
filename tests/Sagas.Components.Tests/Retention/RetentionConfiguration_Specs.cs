using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;
using Sagas.Persistence.Retention;

namespace Sagas.Components.Tests.Retention;

public sealed class When_retention_settings_are_read
{
    [Fact]
    public void Should_default_to_batches_of_a_thousand_with_a_pause_and_a_bounded_run()
    {
        var options = Read(new Dictionary<string, string?>());

        Assert.Equal((1_000, TimeSpan.FromMilliseconds(200), TimeSpan.FromMinutes(10)), (options.BatchSize, options.PauseBetweenBatches, options.MaxRunTime));
        Assert.Empty(options.Rules);
    }

    [Fact]
    public void Should_take_days_and_enabled_per_rule()
    {
        var options = Read(new Dictionary<string, string?>
        {
            ["Retention:Rules:scan-file-results:Days"] = "90",
            ["Retention:Rules:failed-messages:Enabled"] = "false",
        });

        Assert.Equal(90, options.Rules["scan-file-results"].Days);
        Assert.False(options.Rules["failed-messages"].Enabled);
    }

    [Theory]
    [InlineData("Retention:Rules:scan-file-results:Days", "0", "Retention:Rules:scan-file-results:Days is 0; it must be between 1 and 36500.")]
    [InlineData("Retention:Rules:llm-jobs:Days", "-3", "Retention:Rules:llm-jobs:Days is -3; it must be between 1 and 36500.")]
    [InlineData("Retention:BatchSize", "0", "Retention:BatchSize is 0; it must be between 1 and 10000.")]
    [InlineData("Retention:PauseBetweenBatches", "-00:00:01", "Retention:PauseBetweenBatches is -00:00:01; it must not be negative.")]
    [InlineData("Retention:MaxRunTime", "00:00:00", "Retention:MaxRunTime is 00:00:00; it must be at least 00:00:01.")]
    public void Should_refuse_a_bad_value_in_one_sentence_naming_its_key(string key, string value, string expected)
    {
        var error = Assert.Throws<SagasConfigurationException>(() => Read(new Dictionary<string, string?> { [key] = value }));

        Assert.Equal(expected, error.Message);
    }

    private static RetentionOptions Read(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().ReadValidatedOptions<RetentionOptions>(RetentionOptions.SectionName);
}
