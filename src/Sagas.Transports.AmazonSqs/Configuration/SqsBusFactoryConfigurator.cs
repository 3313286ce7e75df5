using MassTransit;
using MassTransit.Configuration;
using MassTransit.Transports;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sagas.Transports.AmazonSqs.Configuration;

/// <summary>What <c>UsingSagasAmazonSqs</c> hands its callback: the usual bus configurator, endpoints on SQS.</summary>
public interface IAmazonSqsBusFactoryConfigurator : IBusFactoryConfigurator<IAmazonSqsReceiveEndpointConfigurator>;

internal sealed class SqsBusFactoryConfigurator : BusFactoryConfigurator, IAmazonSqsBusFactoryConfigurator, IBusFactory
{
    private readonly SqsBusConfiguration _bus;

    public SqsBusFactoryConfigurator(SqsBusConfiguration bus)
        : base(bus)
    {
        _bus = bus;
        bus.BusEndpointConfiguration.Consume.Configurator.AutoStart = true;
    }

    public IReceiveEndpointConfiguration CreateBusEndpointConfiguration(Action<IReceiveEndpointConfigurator> configure)
    {
        var queueName = _bus.TopologyConfiguration.Consume.CreateTemporaryQueueName("bus");
        return _bus.HostConfiguration.CreateReceiveEndpointConfiguration(queueName, _bus.BusEndpointConfiguration, configure);
    }

    public void ReceiveEndpoint(IEndpointDefinition definition, IEndpointNameFormatter? endpointNameFormatter,
        Action<IAmazonSqsReceiveEndpointConfigurator>? configureEndpoint = null) =>
        _bus.HostConfiguration.ReceiveEndpoint(definition, endpointNameFormatter, configureEndpoint);

    public void ReceiveEndpoint(IEndpointDefinition definition, IEndpointNameFormatter? endpointNameFormatter,
        Action<IReceiveEndpointConfigurator>? configureEndpoint = null) =>
        _bus.HostConfiguration.ReceiveEndpoint(definition, endpointNameFormatter, configureEndpoint);

    public void ReceiveEndpoint(string queueName, Action<IAmazonSqsReceiveEndpointConfigurator> configureEndpoint) =>
        _bus.HostConfiguration.ReceiveEndpoint(queueName, configureEndpoint);

    public void ReceiveEndpoint(string queueName, Action<IReceiveEndpointConfigurator> configureEndpoint) =>
        _bus.HostConfiguration.ReceiveEndpoint(queueName, configureEndpoint);
}

internal sealed class SqsRegistrationBusFactory(SqsBusConfiguration bus, Action<IBusRegistrationContext, IAmazonSqsBusFactoryConfigurator> configure)
    : TransportRegistrationBusFactory<IAmazonSqsReceiveEndpointConfigurator>(bus.HostConfiguration)
{
    public override IBusInstance CreateBus(IBusRegistrationContext context, IEnumerable<IBusInstanceSpecification> specifications, string busName)
    {
        if (context.GetService<ILoggerFactory>() is { } loggers)
            bus.HostConfiguration.Broker.Logger = loggers.CreateLogger("Sagas.Transports.AmazonSqs");
        return CreateBus(new SqsBusFactoryConfigurator(bus), context, configure, specifications);
    }
}
