using MassTransit;
using MassTransit.Configuration;
using MassTransit.Middleware;
using MassTransit.Transports;
using MassTransit.Util;
using Microsoft.Extensions.Logging;
using Sagas.Transports.AmazonSqs.Receiving;
using Sagas.Transports.AmazonSqs.Sending;

namespace Sagas.Transports.AmazonSqs.Configuration;

/// <summary>One receive endpoint: a queue, and the topics of the message types its consumers take.</summary>
internal sealed class SqsReceiveEndpointConfiguration : ReceiveEndpointConfiguration, IAmazonSqsReceiveEndpointConfigurator
{
    private readonly SqsHostConfiguration _host;

    public SqsReceiveEndpointConfiguration(SqsHostConfiguration host, string queueName, IEndpointConfiguration endpointConfiguration)
        : base(host, endpointConfiguration)
    {
        _host = host;
        QueueName = queueName;
        HostAddress = host.HostAddress;
        InputAddress = new SqsAddress(SqsEntityKind.Queue, queueName).ToUri(host.HostAddress);
    }

    public string QueueName { get; }

    public override Uri HostAddress { get; }

    public override Uri InputAddress { get; }

    public override ReceiveEndpointContext CreateReceiveEndpointContext() => CreateSqsContext();

    public void Build(IHost host)
    {
        var context = CreateSqsContext();
        var transportPipe = Pipe.New<SqsClientContext>(pipe =>
        {
            pipe.UseFilter(new ReceiveEndpointDependencyFilter<SqsClientContext>(context));
            pipe.UseFilter(new SqsConsumerFilter(context));
        });
        var transport = new ReceiveTransport<SqsClientContext>(_host, context, () => context.Supervisor, transportPipe);
        var endpoint = new ReceiveEndpoint(transport, context);
        host.AddReceiveEndpoint(QueueName, endpoint);
        ReceiveEndpoint = endpoint;
    }

    private SqsReceiveEndpointContext CreateSqsContext()
    {
        var builder = new SqsReceiveEndpointBuilder(_host, this);
        ApplySpecifications(builder);
        return builder.CreateReceiveEndpointContext();
    }
}

/// <summary>Notes the topic of every message type a consumer on this endpoint connects, for the subscriptions.</summary>
internal sealed class SqsReceiveEndpointBuilder(SqsHostConfiguration host, SqsReceiveEndpointConfiguration configuration) : ReceiveEndpointBuilder(configuration)
{
    private readonly SortedSet<string> _topics = new(StringComparer.Ordinal);

    public override ConnectHandle ConnectConsumePipe<T>(IPipe<ConsumeContext<T>> pipe, ConnectPipeOptions options)
    {
        if (configuration.ConfigureConsumeTopology
            && options.HasFlag(ConnectPipeOptions.ConfigureConsumeTopology)
            && configuration.Topology.Consume.GetMessageTopology<T>().ConfigureConsumeTopology
            && host.Topology.Publish<T>().TryGetPublishAddress(host.HostAddress, out var topic))
        {
            _topics.Add(SqsAddress.Parse(topic).Name);
        }

        return base.ConnectConsumePipe(pipe, options);
    }

    public SqsReceiveEndpointContext CreateReceiveEndpointContext()
    {
        var context = new SqsReceiveEndpointContext(host, configuration, [.. _topics]);
        var move = new SqsMoveTransport(host.Broker, configuration.QueueName);
        context.GetOrAddPayload<IErrorTransport>(() => move);
        context.GetOrAddPayload<IDeadLetterTransport>(() => move);
        // The message scheduler filter (UseMessageScheduler) finds the scheduler's address through the bus topology.
        context.GetOrAddPayload(() => host.Topology);
        return context;
    }
}

internal sealed class SqsReceiveEndpointContext : BaseReceiveEndpointContext
{
    private readonly SqsHostConfiguration _host;
    private readonly Recycle<SqsClientSupervisor> _supervisor;

    public SqsReceiveEndpointContext(SqsHostConfiguration host, SqsReceiveEndpointConfiguration configuration, IReadOnlyCollection<string> topics)
        : base(host, configuration)
    {
        _host = host;
        QueueName = configuration.QueueName;
        Topics = topics;
        IsTemporary = configuration.IsBusEndpoint;
        _supervisor = new Recycle<SqsClientSupervisor>(() => new SqsClientSupervisor(host.Broker));
    }

    public string QueueName { get; }

    public IReadOnlyCollection<string> Topics { get; }

    /// <summary>The bus's own response queue: a new one each start, deleted when the bus stops.</summary>
    public bool IsTemporary { get; }

    public SqsBroker Broker => _host.Broker;

    public ILogger Logger => _host.Broker.Logger;

    public ITransportSupervisor<SqsClientContext> Supervisor => _supervisor.Supervisor;

    public override void AddSendAgent(IAgent agent) => Supervisor.AddSendAgent(agent);

    public override void AddConsumeAgent(IAgent agent) => Supervisor.AddConsumeAgent(agent);

    public override Exception ConvertException(Exception exception, string message) =>
        exception as ConnectionException ?? new SqsTransportException(message + InputAddress, exception);

    public override void Probe(ProbeContext context)
    {
        context.Add("type", "Amazon SQS");
        context.Set(new { Queue = Broker.QueueName(QueueName), Topics, PrefetchCount, ConcurrentMessageLimit });
    }

    protected override ISendTransportProvider CreateSendTransportProvider() => new SqsTransportProvider(_host, this, Supervisor);

    protected override IPublishTransportProvider CreatePublishTransportProvider() => new SqsTransportProvider(_host, this, Supervisor);
}
