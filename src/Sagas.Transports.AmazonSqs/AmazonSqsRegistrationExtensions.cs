using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Sagas.Transports.AmazonSqs.Configuration;

namespace Sagas.Transports.AmazonSqs;

public static class AmazonSqsRegistrationExtensions
{
    /// <summary>
    /// Runs the bus on Amazon SQS (send) and SNS (publish). The settings are validated and the AWS credentials resolved
    /// here, so a bad value stops start-up with a <see cref="SagasConfigurationException"/>.
    /// </summary>
    public static void UsingSagasAmazonSqs(
        this IBusRegistrationConfigurator configurator,
        AmazonSqsTransportOptions options,
        Action<IBusRegistrationContext, IAmazonSqsBusFactoryConfigurator> configure)
    {
        // Messaging:AmazonSqs is checked with the rest of Messaging at start-up; checked again for callers that built it in code.
        OptionsValidation.ThrowIfInvalid(options, AmazonSqsTransportOptions.SectionName);
        var broker = SqsClientFactory.CreateBroker(options);
        // The container owns the AWS clients (disposed with it) and tests and health checks can reach them.
        configurator.AddSingleton(broker);
        var bus = new SqsBusConfiguration(new SqsTopologyConfiguration(), broker);
        configurator.SetBusFactory(new SqsRegistrationBusFactory(bus, (context, cfg) =>
        {
            cfg.PrefetchCount = options.PrefetchCount;
            cfg.ConcurrentMessageLimit = options.ConcurrentMessageLimit;
            configure(context, cfg);
        }));
    }
}
