using MassTransit;
using MassTransit.Configuration;
using MassTransit.Observables;

namespace Sagas.Transports.AmazonSqs.Configuration;

/// <summary>Configures the bus's receive endpoints on Amazon SQS.</summary>
public interface IAmazonSqsReceiveEndpointConfigurator : IReceiveEndpointConfigurator;

/// <summary>The bus-wide configuration: topology, the host (one broker, one set of AWS clients) and the bus's own endpoint.</summary>
internal sealed class SqsBusConfiguration : EndpointConfiguration, IBusConfiguration
{
    private readonly BusObservable _busObservers = new();

    public SqsBusConfiguration(SqsTopologyConfiguration topology, SqsBroker broker)
        : base(topology)
    {
        TopologyConfiguration = topology;
        HostConfiguration = new SqsHostConfiguration(this, broker);
        BusEndpointConfiguration = CreateEndpointConfiguration(isBusEndpoint: true);
    }

    public SqsTopologyConfiguration TopologyConfiguration { get; }

    public SqsHostConfiguration HostConfiguration { get; }

    public IEndpointConfiguration BusEndpointConfiguration { get; }

    IHostConfiguration IBusConfiguration.HostConfiguration => HostConfiguration;

    public IBusObserver BusObservers => _busObservers;

    public IEndpointConfiguration CreateEndpointConfiguration(bool isBusEndpoint = false) => new SqsEndpointConfiguration(this, TopologyConfiguration, isBusEndpoint);

    public ConnectHandle ConnectBusObserver(IBusObserver observer) => _busObservers.Connect(observer);

    public ConnectHandle ConnectEndpointConfigurationObserver(IEndpointConfigurationObserver observer) =>
        HostConfiguration.ConnectEndpointConfigurationObserver(observer);
}

internal sealed class SqsEndpointConfiguration(IEndpointConfiguration parent, ITopologyConfiguration topology, bool isBusEndpoint)
    : EndpointConfiguration(parent, topology, isBusEndpoint);
