using System.Globalization;
using System.Net;
using System.Xml.Linq;
using Amazon.Runtime;
using Amazon.Runtime.Credentials.Internal;
using Amazon.Runtime.Endpoints;
using Amazon.Runtime.Internal;
using Amazon.Runtime.Internal.Auth;
using Amazon.Runtime.Internal.Transform;

namespace Sagas.Transports.AmazonSqs.Sns;

/// <summary>
/// The three Amazon SNS actions the transport needs (CreateTopic, Subscribe, Publish), spoken over the Query protocol
/// through AWSSDK.Core's pipeline: its SigV4 signing, retries, credential refresh and error handling. The SNS SDK
/// package is not available to this project; this stays small by sending every action as a parameter list and
/// reading every answer as the text of its XML elements.
/// </summary>
internal sealed class SnsClient(AWSCredentials credentials, SnsClientConfig config) : AmazonServiceClient(credentials, config)
{
    public const string ApiVersion = "2010-03-31";

    private static readonly IServiceMetadata Metadata = new SnsMetadata();

    protected override IServiceMetadata ServiceMetadata => Metadata;

    public async Task<string> CreateTopicAsync(string name, CancellationToken cancellationToken)
    {
        var response = await SendAsync(new SnsRequest("CreateTopic") { ["Name"] = name }, cancellationToken);
        return response.Required("TopicArn");
    }

    /// <summary>Idempotent: SNS answers an identical subscription with the existing one.</summary>
    public async Task<string> SubscribeQueueAsync(string topicArn, string queueArn, CancellationToken cancellationToken)
    {
        var request = new SnsRequest("Subscribe")
        {
            ["TopicArn"] = topicArn,
            ["Protocol"] = "sqs",
            ["Endpoint"] = queueArn,
            ["ReturnSubscriptionArn"] = "true",
            // Raw delivery hands the queue the published body and attributes as they are, not wrapped in SNS's JSON.
            ["Attributes.entry.1.key"] = "RawMessageDelivery",
            ["Attributes.entry.1.value"] = "true",
        };
        var response = await SendAsync(request, cancellationToken);
        return response.Required("SubscriptionArn");
    }

    public async Task<string> PublishAsync(string topicArn, string message, IReadOnlyDictionary<string, string> attributes, CancellationToken cancellationToken)
    {
        var request = new SnsRequest("Publish") { ["TopicArn"] = topicArn, ["Message"] = message };
        var index = 1;
        foreach (var (name, value) in attributes)
        {
            var entry = "MessageAttributes.entry." + index.ToString(CultureInfo.InvariantCulture);
            request[entry + ".Name"] = name;
            request[entry + ".Value.DataType"] = "String";
            request[entry + ".Value.StringValue"] = value;
            index++;
        }

        var response = await SendAsync(request, cancellationToken);
        return response.Required("MessageId");
    }

    private Task<SnsResponse> SendAsync(SnsRequest request, CancellationToken cancellationToken) =>
        InvokeAsync<SnsResponse>(request, new InvokeOptions { RequestMarshaller = SnsMarshaller.Instance, ResponseUnmarshaller = SnsUnmarshaller.Instance }, cancellationToken);

    protected override void CustomizeRuntimePipeline(RuntimePipeline pipeline)
    {
        pipeline.RemoveHandler<EndpointResolver>();
        pipeline.AddHandlerAfter<Marshaller>(new SnsEndpointResolver());
        pipeline.AddHandlerAfter<Marshaller>(new SnsAuthResolver());
    }

    private sealed class SnsMetadata : IServiceMetadata
    {
        public string ServiceId => "SNS";

        public IDictionary<string, string> OperationNameMapping { get; } = new Dictionary<string, string>();
    }
}

/// <summary>Where SNS lives: the emulator's address, or the regional public endpoint, and how requests to it are signed.</summary>
internal sealed class SnsClientConfig : ClientConfig
{
    // SQS's SDK defaults (standard retry mode, connect timeouts) fit SNS too: both are regional services behind the same edge.
    public SnsClientConfig(string region, string? serviceUrl)
        : base(new DefaultConfigurationProvider(Amazon.SQS.AmazonSQSDefaultConfiguration.GetAllConfigurations()))
    {
        ServiceId = "SNS";
        AuthenticationServiceName = "sns";
        AuthenticationRegion = region;
        Region = region;
        // The SDK's region-based endpoint rules are generated per service and SNS's are not available: name the endpoint.
        ServiceURL = serviceUrl ?? $"https://sns.{region}.{(region.StartsWith("cn-", StringComparison.Ordinal) ? "amazonaws.com.cn" : "amazonaws.com")}/";
        EndpointProvider = new SnsEndpointProvider(this);
    }

    public string Region { get; }

    public override string RegionEndpointServiceName => "sns";

    public override string ServiceVersion => SnsClient.ApiVersion;

    public override string UserAgent => "sagas-sns/1";

    public override Amazon.Runtime.Endpoints.Endpoint DetermineServiceOperationEndpoint(ServiceOperationEndpointParameters parameters) => new(ServiceURL);
}

internal sealed class SnsEndpointProvider(SnsClientConfig config) : IEndpointProvider
{
    public Amazon.Runtime.Endpoints.Endpoint ResolveEndpoint(EndpointParameters parameters) => new(config.ServiceURL);
}

internal sealed class SnsEndpointResolver : BaseEndpointResolver
{
    protected override EndpointParameters MapEndpointsParameters(IRequestContext requestContext)
    {
        var config = (SnsClientConfig)requestContext.ClientConfig;
        return new EndpointParameters { ["Region"] = config.Region, ["Endpoint"] = config.ServiceURL };
    }
}

internal sealed class SnsAuthResolver : BaseAuthResolverHandler
{
    protected override List<IAuthSchemeOption> ResolveAuthOptions(IExecutionContext executionContext) => AuthSchemeOption.DEFAULT_SIGV4;
}

/// <summary>One SNS action and its Query parameters.</summary>
internal sealed class SnsRequest(string action) : AmazonWebServiceRequest
{
    public string Action { get; } = action;

    public Dictionary<string, string> Parameters { get; } = new(StringComparer.Ordinal);

    public string this[string name]
    {
        set => Parameters[name] = value;
    }
}

/// <summary>The leaf elements of an SNS answer by name (the actions we use return each value once).</summary>
internal sealed class SnsResponse : AmazonWebServiceResponse
{
    public Dictionary<string, string> Values { get; } = new(StringComparer.Ordinal);

    public string Required(string name) =>
        Values.TryGetValue(name, out var value) && value.Length > 0
            ? value
            : throw new AmazonServiceException($"Amazon SNS answered without {name}.");
}

internal sealed class SnsMarshaller : IMarshaller<IRequest, AmazonWebServiceRequest>
{
    public static readonly SnsMarshaller Instance = new();

    public IRequest Marshall(AmazonWebServiceRequest input)
    {
        var sns = (SnsRequest)input;
        var request = new DefaultRequest(sns, "Amazon.SimpleNotificationService") { HttpMethod = "POST", ResourcePath = "/" };
        request.Parameters["Action"] = sns.Action;
        request.Parameters["Version"] = SnsClient.ApiVersion;
        foreach (var (name, value) in sns.Parameters)
            request.Parameters[name] = value;
        return request;
    }
}

internal sealed class SnsUnmarshaller : XmlResponseUnmarshaller
{
    public static readonly SnsUnmarshaller Instance = new();

    public override AmazonWebServiceResponse Unmarshall(XmlUnmarshallerContext input)
    {
        var response = new SnsResponse();
        foreach (var element in XDocument.Load(input.Stream).Descendants().Where(e => !e.HasElements))
            response.Values[element.Name.LocalName] = element.Value;
        return response;
    }

    public override AmazonServiceException UnmarshallException(XmlUnmarshallerContext input, Exception innerException, HttpStatusCode statusCode)
    {
        string? code = null, message = null, requestId = null, type = null;
        try
        {
            foreach (var element in XDocument.Load(input.Stream).Descendants().Where(e => !e.HasElements))
            {
                switch (element.Name.LocalName)
                {
                    case "Code": code = element.Value; break;
                    case "Message": message = element.Value; break;
                    case "RequestId": requestId = element.Value; break;
                    case "Type": type = element.Value; break;
                }
            }
        }
        catch (System.Xml.XmlException)
        {
            // Not XML (a proxy's error page): the status code is all there is to report.
        }

        var errorType = type == "Sender" ? ErrorType.Sender : type == "Receiver" ? ErrorType.Receiver : ErrorType.Unknown;
        return new AmazonServiceException(message ?? $"Amazon SNS answered HTTP {(int)statusCode}.", innerException, errorType, code ?? statusCode.ToString(), requestId, statusCode);
    }
}
