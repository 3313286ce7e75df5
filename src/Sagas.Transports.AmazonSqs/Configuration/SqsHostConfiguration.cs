using MassTransit;
using MassTransit.Configuration;
using MassTransit.Transports;

namespace Sagas.Transports.AmazonSqs.Configuration;

/// <summary>The host: one broker for the bus, the receive endpoints configured on it, and how their transports retry.</summary>
internal sealed class SqsHostConfiguration : BaseHostConfiguration<SqsReceiveEndpointConfiguration, IAmazonSqsReceiveEndpointConfigurator>
{
    private readonly SqsBusConfiguration _bus;
    private readonly SqsBusTopology _topology;

    public SqsHostConfiguration(SqsBusConfiguration bus, SqsBroker broker)
        : base(bus)
    {
        _bus = bus;
        Broker = broker;
        HostAddress = SqsAddress.HostAddress(broker.Options);
        _topology = new SqsBusTopology(this, bus.TopologyConfiguration);
        // Throttling, network trouble, a permission being fixed: keep trying with back-off while readiness shows the error.
        // A topology conflict is not transient and faults the endpoint for good.
        ReceiveTransportRetryPolicy = Retry.CreatePolicy(x =>
        {
            x.Handle<ConnectionException>(exception => exception.IsTransient);
            x.Exponential(int.MaxValue, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(2));
        });
    }

    public SqsBroker Broker { get; }

    public override Uri HostAddress { get; }

    public override IBusTopology Topology => _topology;

    public override IRetryPolicy ReceiveTransportRetryPolicy { get; }

    public SqsReceiveEndpointConfiguration CreateReceiveEndpointConfiguration(string queueName, IEndpointConfiguration endpointConfiguration,
        Action<IAmazonSqsReceiveEndpointConfigurator>? configure)
    {
        var configuration = new SqsReceiveEndpointConfiguration(this, SqsNames.Logical(queueName), endpointConfiguration);
        configure?.Invoke(configuration);
        Observers.EndpointConfigured(configuration);
        Add(configuration);
        return configuration;
    }

    public override IReceiveEndpointConfiguration CreateReceiveEndpointConfiguration(string queueName, Action<IReceiveEndpointConfigurator>? configure) =>
        CreateReceiveEndpointConfiguration(queueName, _bus.CreateEndpointConfiguration(), configure);

    public override void ReceiveEndpoint(IEndpointDefinition definition, IEndpointNameFormatter? endpointNameFormatter,
        Action<IAmazonSqsReceiveEndpointConfigurator>? configureEndpoint)
    {
        var queueName = definition.GetEndpointName(endpointNameFormatter ?? DefaultEndpointNameFormatter.Instance);
        ReceiveEndpoint(queueName, configurator =>
        {
            ApplyEndpointDefinition(configurator, definition);
            configureEndpoint?.Invoke(configurator);
        });
    }

    public override void ReceiveEndpoint(string queueName, Action<IAmazonSqsReceiveEndpointConfigurator>? configureEndpoint) =>
        CreateReceiveEndpointConfiguration(queueName, _bus.CreateEndpointConfiguration(), configureEndpoint);

    public void ApplyDefinition(IAmazonSqsReceiveEndpointConfigurator configurator, IEndpointDefinition definition) =>
        ApplyEndpointDefinition(configurator, definition);

    public override IHost Build()
    {
        var host = new SqsHost(this, _topology);
        foreach (var endpoint in GetConfiguredEndpoints())
            endpoint.Build(host);
        return host;
    }
}

internal sealed class SqsHost(SqsHostConfiguration configuration, IBusTopology topology) : BaseHost(configuration, topology), IHost<IAmazonSqsReceiveEndpointConfigurator>
{
    public override HostReceiveEndpointHandle ConnectReceiveEndpoint(IEndpointDefinition definition, IEndpointNameFormatter? endpointNameFormatter,
        Action<IReceiveEndpointConfigurator>? configureEndpoint = null) =>
        ConnectReceiveEndpoint(definition, endpointNameFormatter, (IAmazonSqsReceiveEndpointConfigurator c) => configureEndpoint?.Invoke(c));

    public override HostReceiveEndpointHandle ConnectReceiveEndpoint(string queueName, Action<IReceiveEndpointConfigurator>? configureEndpoint = null) =>
        ConnectReceiveEndpoint(queueName, (IAmazonSqsReceiveEndpointConfigurator c) => configureEndpoint?.Invoke(c));

    public HostReceiveEndpointHandle ConnectReceiveEndpoint(IEndpointDefinition definition, IEndpointNameFormatter? endpointNameFormatter,
        Action<IAmazonSqsReceiveEndpointConfigurator>? configureEndpoint = null)
    {
        var queueName = definition.GetEndpointName(endpointNameFormatter ?? DefaultEndpointNameFormatter.Instance);
        return ConnectReceiveEndpoint(queueName, configurator =>
        {
            configuration.ApplyDefinition(configurator, definition);
            configureEndpoint?.Invoke(configurator);
        });
    }

    public HostReceiveEndpointHandle ConnectReceiveEndpoint(string queueName, Action<IAmazonSqsReceiveEndpointConfigurator>? configureEndpoint = null)
    {
        var endpoint = configuration.CreateReceiveEndpointConfiguration(queueName, ((SqsBusConfiguration)configuration.BusConfiguration).CreateEndpointConfiguration(), configureEndpoint);
        endpoint.Validate().ThrowIfContainsFailure("The receive endpoint configuration is invalid:");
        endpoint.Build(this);
        return ReceiveEndpoints.Start(endpoint.QueueName);
    }

    protected override void Probe(ProbeContext context) => context.Set(new { Type = "Amazon SQS", configuration.HostAddress });
}
