using System.Diagnostics.CodeAnalysis;
using MassTransit;
using MassTransit.Configuration;
using MassTransit.Topology;
using MassTransit.Transports;

namespace Sagas.Transports.AmazonSqs.Configuration;

/// <summary>
/// MassTransit's topology objects for this transport: its own message names (SNS-safe), a publish address per message
/// type (its topic), and temporary queue names SQS accepts. Send and publish conventions come from MassTransit's
/// global topology, as on every other transport.
/// </summary>
internal sealed class SqsTopologyConfiguration : ITopologyConfiguration
{
    private readonly SendTopology _send;
    private readonly SqsPublishTopology _publish;
    private readonly SqsConsumeTopology _consume;

    public SqsTopologyConfiguration()
    {
        Message = new MessageTopology(new SqsEntityNameFormatter());
        _send = new SendTopology();
        _send.ConnectSendTopologyConfigurationObserver(new DelegateSendTopologyConfigurationObserver(GlobalTopology.Send));
        _publish = new SqsPublishTopology(Message);
        _publish.ConnectPublishTopologyConfigurationObserver(new DelegatePublishTopologyConfigurationObserver(GlobalTopology.Publish));
        _publish.ConnectPublishTopologyConfigurationObserver(new PublishToSendTopologyConfigurationObserver(_send));
        _consume = new SqsConsumeTopology();
    }

    public IMessageTopologyConfigurator Message { get; }

    public ISendTopologyConfigurator Send => _send;

    public IPublishTopologyConfigurator Publish => _publish;

    public IConsumeTopologyConfigurator Consume => _consume;

    public IEnumerable<ValidationResult> Validate() => _send.Validate().Concat(_publish.Validate()).Concat(_consume.Validate());
}

internal sealed class SqsPublishTopology(IMessageTopology messageTopology) : PublishTopology
{
    protected override IMessagePublishTopologyConfigurator CreateMessageTopology<T>() =>
        new SqsMessagePublishTopology<T>(this, messageTopology.GetMessageTopology<T>());
}

internal sealed class SqsMessagePublishTopology<T>(IPublishTopology publishTopology, IMessageTopology<T> messageTopology) : MessagePublishTopology<T>(publishTopology)
    where T : class
{
    public override bool TryGetPublishAddress(Uri baseAddress, [NotNullWhen(true)] out Uri? publishAddress)
    {
        if (Exclude || !MessageTypeCache<T>.IsValidMessageType)
        {
            publishAddress = null;
            return false;
        }

        publishAddress = new SqsAddress(SqsEntityKind.Topic, SqsNames.Logical(messageTopology.EntityName)).ToUri(baseAddress);
        return true;
    }
}

internal sealed class SqsConsumeTopology() : ConsumeTopology(SqsNames.MaxQueueName)
{
    public override string CreateTemporaryQueueName(string tag) => SqsNames.Logical(base.CreateTemporaryQueueName(tag));
}

internal sealed class SqsBusTopology(IHostConfiguration hostConfiguration, ITopologyConfiguration topology) : BusTopology(hostConfiguration, topology);
