using System.Text.Json.Nodes;
using Sagas.Transports.AmazonSqs;

namespace Sagas.Components.Tests.Transports.AmazonSqs;

public sealed record SqsNamesSpecEvent(Guid Id);

public sealed class When_queue_and_topic_names_are_formed
{
    [Fact]
    public void Should_put_the_prefix_in_front_of_the_logical_queue_name() =>
        Assert.Equal("prod-scan-files", SqsNames.Queue("prod-", "scan-files"));

    [Fact]
    public void Should_name_a_topic_after_the_message_type_in_characters_sns_accepts()
    {
        var topic = SqsNames.Topic("prod-", SqsNames.TopicFor(typeof(SqsNamesSpecEvent)));

        Assert.Equal("prod-Sagas_Components_Tests_Transports_AmazonSqs-SqsNamesSpecEvent", topic);
        Assert.Matches("^[A-Za-z0-9_-]{1,256}$", topic);
    }

    [Fact]
    public void Should_spell_out_generic_arguments_so_each_closed_type_gets_its_own_topic()
    {
        var fault = SqsNames.TopicFor(typeof(MassTransit.Fault<SqsNamesSpecEvent>));

        Assert.Equal("MassTransit-Fault--Sagas_Components_Tests_Transports_AmazonSqs-SqsNamesSpecEvent--", fault);
        Assert.NotEqual(fault, SqsNames.TopicFor(typeof(MassTransit.Fault<When_queue_and_topic_names_are_formed>)));
    }

    [Fact]
    public void Should_cut_long_names_to_the_limits_keeping_them_apart_with_a_hash()
    {
        var first = SqsNames.Queue("prefix-", new string('a', 100) + "-one");
        var second = SqsNames.Queue("prefix-", new string('a', 100) + "-two");
        var topic = SqsNames.Topic("prefix-", new string('b', 300));

        Assert.Equal(SqsNames.MaxQueueName, first.Length);
        Assert.NotEqual(first, second);
        Assert.Equal(SqsNames.MaxTopicName, topic.Length);
        Assert.Matches("^[A-Za-z0-9_-]+$", first);
    }

    [Fact]
    public void Should_replace_characters_sqs_refuses() =>
        Assert.Equal("p-vm_host_bus_x", SqsNames.Queue("p-", "vm.host:bus x"));

    [Fact]
    public void Should_round_trip_addresses_and_read_masstransits_short_forms()
    {
        var host = SqsAddress.HostAddress(new AmazonSqsTransportOptions { Region = "eu-west-1" });

        Assert.Equal("amazonsqs://eu-west-1/", host.ToString());
        Assert.Equal(new SqsAddress(SqsEntityKind.Queue, "scan-files"), SqsAddress.Parse(new Uri("queue:scan-files")));
        Assert.Equal(new SqsAddress(SqsEntityKind.Topic, "x"), SqsAddress.Parse(new SqsAddress(SqsEntityKind.Topic, "x").ToUri(host)));
        Assert.Equal(new SqsAddress(SqsEntityKind.Queue, "y"), SqsAddress.Parse(new SqsAddress(SqsEntityKind.Queue, "y").ToUri(host)));
        Assert.Throws<ArgumentException>(() => SqsAddress.Parse(new Uri("rabbitmq://localhost/x")));
    }

    [Fact]
    public void Should_let_the_environments_topics_send_to_a_queue_and_keep_other_policy_statements()
    {
        const string existing = """{"Version":"2012-10-17","Statement":[{"Sid":"ops","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sqs:ReceiveMessage","Resource":"*"}]}""";

        var policy = JsonNode.Parse(SqsBroker.QueuePolicy("arn:aws:sqs:eu-west-1:111122223333:prod-scan-files", "prod-", existing))!;
        var statements = policy["Statement"]!.AsArray();

        Assert.Equal(2, statements.Count);
        var ours = statements.Single(s => s!["Sid"]!.GetValue<string>() == "sagas-sns-topics")!;
        Assert.Equal("sqs:SendMessage", ours["Action"]!.GetValue<string>());
        Assert.Equal("arn:aws:sns:eu-west-1:111122223333:prod-*", ours["Condition"]!["ArnLike"]!["aws:SourceArn"]!.GetValue<string>());
        var again = SqsBroker.QueuePolicy("arn:aws:sqs:eu-west-1:111122223333:prod-scan-files", "prod-", policy.ToJsonString());
        Assert.Equal(policy.ToJsonString(), again);
    }
}
