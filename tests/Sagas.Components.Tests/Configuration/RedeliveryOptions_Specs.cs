using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;
using Sagas.Hosting.Messaging;
using Sagas.Messaging;
using Sagas.Messaging.Scheduling.Endpoint;

namespace Sagas.Components.Tests.Configuration;

public sealed class When_redelivery_is_configured
{
    [Fact]
    public void Should_wait_30_seconds_then_1_2_5_and_10_minutes_by_default()
    {
        var options = Read(("Messaging:Transport", "RabbitMq"));

        Assert.Equal(
            [TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10)],
            options.Redelivery.ParsedIntervals());
    }

    [Fact]
    public void Should_read_the_delays_as_configured()
    {
        var options = Read(("Messaging:Redelivery:Intervals", "00:00:05, 00:00:20,01:00:00"));

        Assert.Equal([TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(20), TimeSpan.FromHours(1)], options.Redelivery.ParsedIntervals());
    }

    [Fact]
    public void Should_have_no_delays_when_disabled()
    {
        var options = Read(("Messaging:Redelivery:Enabled", "false"), ("Messaging:Redelivery:Intervals", "not a list"));

        Assert.Empty(options.Redelivery.ParsedIntervals());
    }

    [Theory]
    [InlineData("soon", "Messaging:Redelivery:Intervals has 'soon', which is not a duration (hh:mm:ss).")]
    [InlineData("00:00:30,,", "")]
    [InlineData(" ", "Messaging:Redelivery:Intervals is empty; list at least one delay (for example 00:00:30,00:01:00) or set Enabled to false.")]
    [InlineData("00:00:00", "Messaging:Redelivery:Intervals has 00:00:00; each delay must be between 00:00:01 and 12:00:00.")]
    [InlineData("1.00:00:00", "Messaging:Redelivery:Intervals has 1.00:00:00; each delay must be between 00:00:01 and 12:00:00.")]
    public void Should_refuse_what_is_not_a_list_of_delays_naming_the_key(string intervals, string expected)
    {
        var problems = Problems(("Messaging:Redelivery:Intervals", intervals));

        Assert.Equal(expected, problems);
    }

    [Fact]
    public void Should_refuse_more_than_twenty_redeliveries()
    {
        var problems = Problems(("Messaging:Redelivery:Intervals", string.Join(",", Enumerable.Repeat("00:00:10", 21))));

        Assert.Equal("Messaging:Redelivery:Intervals lists 21 delays; at most 20 are allowed.", problems);
    }

    [Theory]
    [InlineData("InMemory", RedeliveryPath.Scheduler)]
    [InlineData("RabbitMq", RedeliveryPath.Scheduler)]
    [InlineData("AmazonSqs", RedeliveryPath.TransportDelay)]
    public void Should_wait_where_the_transport_can(string transport, RedeliveryPath path)
    {
        var options = Read(("Messaging:Transport", transport), ("Messaging:AmazonSqs:ServiceUrl", "http://127.0.0.1:4566"), ("Messaging:AmazonSqs:Region", "eu-west-1"));

        Assert.Equal(path, options.ChooseRedeliveryPath());
    }

    [Fact]
    public void Should_refuse_a_delay_longer_than_amazon_sqs_can_hold_a_message()
    {
        var problems = Problems(
            ("Messaging:Transport", "AmazonSqs"),
            ("Messaging:AmazonSqs:ServiceUrl", "http://127.0.0.1:4566"),
            ("Messaging:AmazonSqs:Region", "eu-west-1"),
            ("Messaging:Redelivery:Intervals", "00:01:00,00:20:00"));

        Assert.Equal(
            "Messaging:Redelivery:Intervals has 00:20:00; on Amazon SQS a redelivery waits in the queue (DelaySeconds), at most 00:15:00.",
            problems);
    }

    [Theory]
    [InlineData("00:00:10")]
    [InlineData("00:03:00")]
    [InlineData("00:20:00")]
    public void Should_hold_a_schedule_request_at_least_as_long_as_the_store_outage_tolerated_never_waiting_over_30_seconds(string tolerance)
    {
        var intervals = SchedulerEndpointDefinition.StoreOutageIntervals(TimeSpan.Parse(tolerance, System.Globalization.CultureInfo.InvariantCulture));

        Assert.True(intervals.Aggregate(TimeSpan.Zero, (sum, next) => sum + next) >= TimeSpan.Parse(tolerance, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(TimeSpan.FromMilliseconds(200), intervals[0]);
        Assert.All(intervals, interval => Assert.InRange(interval, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30)));
    }

    private static MessagingOptions Read(params (string Key, string Value)[] settings) =>
        Configuration(settings).ReadValidatedOptions<MessagingOptions>(MessagingOptions.SectionName);

    private static string Problems(params (string Key, string Value)[] settings)
    {
        var exception = Record.Exception(() => Read(settings));
        return exception is SagasConfigurationException refused ? refused.Message : exception?.ToString() ?? "";
    }

    private static IConfiguration Configuration((string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build();
}
