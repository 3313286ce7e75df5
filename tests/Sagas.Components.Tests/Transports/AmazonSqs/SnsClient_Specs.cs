using Amazon.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Transports.AmazonSqs.Sns;

namespace Sagas.Components.Tests.Transports.AmazonSqs;

/// <summary>
/// The emulator checks no signatures, so what our SNS client puts on the wire is checked here against a stub: a SigV4
/// signature scoped to the sns service and region, the Query protocol's form body, and AWS errors read back.
/// </summary>
public sealed class When_the_sns_client_calls_aws
{
    [Fact]
    public async Task Should_sign_a_query_protocol_request_for_sns_in_the_region()
    {
        await using var stub = await HttpStub.StartAsync(app => app.MapPost("/", () => Results.Text(
            """<CreateTopicResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><CreateTopicResult><TopicArn>arn:aws:sns:eu-west-1:111122223333:prod-x</TopicArn></CreateTopicResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateTopicResponse>""",
            "text/xml")));
        using var client = new SnsClient(new BasicAWSCredentials("AKIDEXAMPLE", "secret-example"), new SnsClientConfig("eu-west-1", stub.BaseAddress.ToString()));

        var arn = await client.CreateTopicAsync("prod-x", CancellationToken.None);

        Assert.Equal("arn:aws:sns:eu-west-1:111122223333:prod-x", arn);
        var request = Assert.Single(stub.Requests);
        Assert.Matches(@"^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/eu-west-1/sns/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$", request.Headers["Authorization"]);
        Assert.StartsWith("application/x-www-form-urlencoded", request.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Contains("Action=CreateTopic", request.Body, StringComparison.Ordinal);
        Assert.Contains("Version=2010-03-31", request.Body, StringComparison.Ordinal);
        Assert.Contains("Name=prod-x", request.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-example", string.Join(" ", request.Headers.Values) + request.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_report_an_aws_error_with_its_code()
    {
        await using var stub = await HttpStub.StartAsync(app => app.MapPost("/", () => Results.Text(
            """<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>User is not authorized to perform: SNS:Publish</Message></Error><RequestId>r</RequestId></ErrorResponse>""",
            "text/xml",
            statusCode: 403)));
        using var client = new SnsClient(new BasicAWSCredentials("AKIDEXAMPLE", "secret-example"), new SnsClientConfig("eu-west-1", stub.BaseAddress.ToString()));

        var refused = await Assert.ThrowsAnyAsync<AmazonServiceException>(() => client.PublishAsync("arn:aws:sns:eu-west-1:1:t", "{}", new Dictionary<string, string>(), CancellationToken.None));

        Assert.Equal("AuthorizationError", refused.ErrorCode);
        Assert.Contains("SNS:Publish", refused.Message, StringComparison.Ordinal);
    }
}
