using Sagas.Core.Configuration;
using Sagas.Transports.AmazonSqs;

namespace Sagas.Components.Tests.Transports.AmazonSqs;

public sealed class When_the_amazon_sqs_settings_are_validated
{
    [Fact]
    public void Should_accept_a_region_alone_and_a_service_url_alone()
    {
        Validate(new AmazonSqsTransportOptions { Region = "eu-west-1" });
        Validate(new AmazonSqsTransportOptions { ServiceUrl = "http://127.0.0.1:4566", AccessKey = "a", SecretKey = "b" });
    }

    [Theory]
    [InlineData(null, null, null, null, "", "Messaging:AmazonSqs:Region")]
    [InlineData("Ireland", null, null, null, "", "Messaging:AmazonSqs:Region")]
    [InlineData(null, "ftp://emulator", null, null, "", "Messaging:AmazonSqs:ServiceUrl")]
    [InlineData(null, "http://user:pw@emulator", null, null, "", "Messaging:AmazonSqs:ServiceUrl")]
    [InlineData("eu-west-1", null, "AKIAEXAMPLE", null, "", "Messaging:AmazonSqs:SecretKey")]
    [InlineData("eu-west-1", null, null, "super-secret-value", "", "Messaging:AmazonSqs:AccessKey")]
    [InlineData("eu-west-1", null, null, null, "prod.", "Messaging:AmazonSqs:Prefix")]
    public void Should_refuse_a_bad_value_in_one_sentence_naming_the_key(string? region, string? serviceUrl, string? accessKey, string? secretKey, string prefix, string key)
    {
        var options = new AmazonSqsTransportOptions { Region = region, ServiceUrl = serviceUrl, AccessKey = accessKey, SecretKey = secretKey, Prefix = prefix };

        var refused = Assert.Throws<SagasConfigurationException>(() => Validate(options));

        Assert.StartsWith(key + " ", refused.Message, StringComparison.Ordinal);
        Assert.Single(refused.Message.Split(". ", StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("super-secret-value", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(":pw@", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(AmazonSqsTransportOptions.PrefetchCount), 0)]
    [InlineData(nameof(AmazonSqsTransportOptions.ConcurrentMessageLimit), 0)]
    [InlineData(nameof(AmazonSqsTransportOptions.WaitTimeSeconds), 21)]
    [InlineData(nameof(AmazonSqsTransportOptions.VisibilityTimeoutSeconds), 1)]
    public void Should_refuse_receive_settings_out_of_range(string key, int value)
    {
        var options = new AmazonSqsTransportOptions { Region = "eu-west-1" };
        typeof(AmazonSqsTransportOptions).GetProperty(key)!.SetValue(options, value);

        Assert.StartsWith($"Messaging:AmazonSqs:{key} ", Assert.Throws<SagasConfigurationException>(() => Validate(options)).Message, StringComparison.Ordinal);
    }

    private static void Validate(AmazonSqsTransportOptions options) => OptionsValidation.ThrowIfInvalid(options, AmazonSqsTransportOptions.SectionName);
}
