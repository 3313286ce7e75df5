using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.SQS;
using MassTransit;
using MassTransit.Agents;
using MassTransit.Middleware;
using MassTransit.Transports;
using Sagas.Core.Configuration;
using Sagas.Transports.AmazonSqs.Sns;

namespace Sagas.Transports.AmazonSqs;

/// <summary>
/// The pipe context MassTransit's supervisors hand to receive and send transports. The AWS clients are thread-safe
/// and shared by the whole bus, so a context is only the broker plus the supervisor's lifetime.
/// </summary>
public sealed class SqsClientContext(SqsBroker broker, ITransportSupervisor<SqsClientContext> supervisor, CancellationToken cancellationToken)
    : BasePipeContext(cancellationToken), PipeContext
{
    public SqsBroker Broker { get; } = broker;

    /// <summary>
    /// The supervisor this context came from. A receive loop registers with it rather than with the endpoint's current
    /// supervisor: when a stop overtakes a start, the endpoint already has a fresh supervisor the stop never reaches.
    /// </summary>
    public ITransportSupervisor<SqsClientContext> Supervisor { get; } = supervisor;
}

internal sealed class SqsClientContextFactory(SqsBroker broker) : IPipeContextFactory<SqsClientContext>
{
    public IPipeContextAgent<SqsClientContext> CreateContext(ISupervisor supervisor) =>
        supervisor.AddContext(new SqsClientContext(broker, (ITransportSupervisor<SqsClientContext>)supervisor, supervisor.Stopped));

    public IActivePipeContextAgent<SqsClientContext> CreateActiveContext(ISupervisor supervisor, PipeContextHandle<SqsClientContext> context, CancellationToken cancellationToken) =>
        supervisor.AddActiveContext(context, context.Context);
}

internal sealed class SqsClientSupervisor(SqsBroker broker) : TransportPipeContextSupervisor<SqsClientContext>(new SqsClientContextFactory(broker));

/// <summary>Builds the AWS clients from the settings; credentials are resolved once, here, so missing ones stop start-up.</summary>
internal static class SqsClientFactory
{
    private static readonly TimeSpan CredentialLookupTimeout = TimeSpan.FromSeconds(20);

    public static SqsBroker CreateBroker(AmazonSqsTransportOptions options)
    {
        var credentials = ResolveCredentials(options);
        var sqsConfig = new AmazonSQSConfig();
        if (!string.IsNullOrWhiteSpace(options.ServiceUrl))
        {
            sqsConfig.ServiceURL = options.ServiceUrl;
            sqsConfig.AuthenticationRegion = options.SigningRegion;
        }
        else
        {
            sqsConfig.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        var sns = new SnsClient(credentials, new SnsClientConfig(options.SigningRegion, string.IsNullOrWhiteSpace(options.ServiceUrl) ? null : options.ServiceUrl));
        return new SqsBroker(options, new AmazonSQSClient(credentials, sqsConfig), sns);
    }

    private static AWSCredentials ResolveCredentials(AmazonSqsTransportOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.AccessKey))
            return new BasicAWSCredentials(options.AccessKey, options.SecretKey);

        try
        {
            using var timeout = new CancellationTokenSource(CredentialLookupTimeout);
            return new DefaultAWSCredentialsIdentityResolver().ResolveIdentity(null, timeout.Token)
                ?? throw new AmazonClientException("no credentials found");
        }
        catch (Exception exception) when (exception is AmazonClientException or OperationCanceledException)
        {
            throw new SagasConfigurationException(
                "Messaging:AmazonSqs:AccessKey is empty and the AWS SDK found no credentials (environment, profile, web identity, container or " +
                "instance role); give the process an IAM role or set AccessKey and SecretKey.");
        }
    }
}
