using MassTransit;
using MassTransit.Configuration;
using MassTransit.Context;
using MassTransit.Transports;

namespace Sagas.Transports.AmazonSqs.Sending;

/// <summary>Sends to one queue (SendMessage) or publishes to one topic (SNS Publish).</summary>
internal sealed class SqsSendTransportContext : BaseSendTransportContext, SendTransportContext<SqsClientContext>
{
    private readonly IHostConfiguration _hostConfiguration;
    private readonly ITransportSupervisor<SqsClientContext> _supervisor;
    private readonly SqsAddress _target;

    public SqsSendTransportContext(IHostConfiguration hostConfiguration, ISerialization serialization, ITransportSupervisor<SqsClientContext> supervisor, SqsAddress target)
        : base(hostConfiguration, serialization)
    {
        _hostConfiguration = hostConfiguration;
        _supervisor = supervisor;
        _target = target;
    }

    public override string EntityName => _target.Name;

    public override string ActivitySystem => _target.Kind == SqsEntityKind.Topic ? "aws_sns" : "aws_sqs";

    public override Task<SendContext<T>> CreateSendContext<T>(T message, IPipe<SendContext<T>> pipe, CancellationToken cancellationToken) =>
        CreateAsync(message, pipe, cancellationToken);

    public Task<SendContext<T>> CreateSendContext<T>(SqsClientContext context, T message, IPipe<SendContext<T>> pipe, CancellationToken cancellationToken)
        where T : class =>
        CreateAsync(message, pipe, cancellationToken);

    public Task Send<T>(SqsClientContext transportContext, SendContext<T> sendContext)
        where T : class
    {
        var message = SqsMessage.From(
            sendContext as MessageSendContext<T> ?? throw new ArgumentException("The send context was not created by this transport.", nameof(sendContext)),
            _target.Kind == SqsEntityKind.Topic);
        return _target.Kind == SqsEntityKind.Topic
            ? transportContext.Broker.PublishAsync(_target.Name, message, sendContext.CancellationToken)
            : transportContext.Broker.SendAsync(_target.Name, message, sendContext.CancellationToken);
    }

    public Task Send(IPipe<SqsClientContext> pipe, CancellationToken cancellationToken) =>
        _hostConfiguration.Retry(() => _supervisor.Send(pipe, cancellationToken), cancellationToken, _supervisor.SendStopping);

    public override IEnumerable<IAgent> GetAgentHandles() => [];

    public void Probe(ProbeContext context) => context.Add("entity", _target.Name);

    private static async Task<SendContext<T>> CreateAsync<T>(T message, IPipe<SendContext<T>> pipe, CancellationToken cancellationToken)
        where T : class
    {
        var context = new MessageSendContext<T>(message, cancellationToken);
        await pipe.Send(context);
        return context;
    }
}

/// <summary>Hands MassTransit a send transport per address: queues by name, topics by message type.</summary>
internal sealed class SqsTransportProvider(
    IHostConfiguration hostConfiguration,
    ReceiveEndpointContext endpoint,
    ITransportSupervisor<SqsClientContext> supervisor) : ISendTransportProvider, IPublishTransportProvider
{
    public Uri NormalizeAddress(Uri address) => SqsAddress.Parse(address).ToUri(hostConfiguration.HostAddress);

    public Task<ISendTransport> GetSendTransport(Uri address) => Task.FromResult(Create(SqsAddress.Parse(address)));

    public Task<ISendTransport> GetPublishTransport<T>(Uri? publishAddress)
        where T : class =>
        Task.FromResult(Create(SqsAddress.Parse(publishAddress ?? throw new ArgumentException($"{TypeCache<T>.ShortName} has no topic to publish to.", nameof(publishAddress)))));

    private ISendTransport Create(SqsAddress target)
    {
        var context = new SqsSendTransportContext(hostConfiguration, endpoint.Serialization, supervisor, target);
        var transport = new SendTransport<SqsClientContext>(context);
        endpoint.AddSendAgent(transport);
        return transport;
    }
}
