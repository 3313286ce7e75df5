using Amazon.SQS.Model;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Integration.Tests.Scheduling;
using Sagas.Transports.AmazonSqs;

namespace Sagas.Integration.Tests.Transports.AmazonSqs;

public sealed class When_the_topology_is_declared_twice(AmazonSqsTestTransport sqs) : IClassFixture<AmazonSqsTestTransport>
{
    [AmazonSqsFact]
    public async Task Should_start_a_second_bus_on_the_existing_queues_topics_and_subscriptions_and_deliver_once_per_endpoint()
    {
        var deliveries = new SqsSpecDeliveries();
        void Register(IBusRegistrationConfigurator x)
        {
            x.AddConsumer<FirstSqsSpecConsumer>();
            x.AddConsumer<SecondSqsSpecConsumer>();
        }

        // A long poll the first bus gave up on when it stopped may still be handed the event by SQS; it comes back after
        // the (short) visibility timeout, as it would on AWS.
        await using (await AmazonSqsBus.StartAsync(sqs.Options(visibilityTimeoutSeconds: 2), Register, s => s.AddSingleton(deliveries)))
        {
        }

        await using var second = await AmazonSqsBus.StartAsync(sqs.Options(visibilityTimeoutSeconds: 2), Register, s => s.AddSingleton(deliveries));
        var id = NewId.NextGuid();
        await second.Bus.Publish(new SqsSpecEvent(id));

        await Wait.UntilAsync(
            () => Task.FromResult(deliveries.Count(nameof(FirstSqsSpecConsumer), id) == 1 && deliveries.Count(nameof(SecondSqsSpecConsumer), id) == 1),
            TimeSpan.FromSeconds(30),
            "the event did not reach both endpoints after the second declaration");
        // One subscription per queue: a second one would have delivered the event twice.
        await Wait.UntilAsync(async () => await sqs.CountAsync("first-sqs-spec") + await sqs.CountAsync("second-sqs-spec") == 0, TimeSpan.FromSeconds(10), "messages were left over");
        Assert.Equal(1, deliveries.Count(nameof(FirstSqsSpecConsumer), id));
        Assert.Equal(1, deliveries.Count(nameof(SecondSqsSpecConsumer), id));
    }
}

public sealed class When_a_queue_exists_with_other_attributes(AmazonSqsTestTransport sqs) : IClassFixture<AmazonSqsTestTransport>
{
    [AmazonSqsFact]
    public async Task Should_fault_the_endpoint_naming_the_queue_and_the_attribute_and_change_nothing()
    {
        var queue = SqsNames.Queue(sqs.Prefix, SqsTimedWorkConsumerDefinition.Queue);
        using (var client = sqs.CreateClient())
            await client.CreateQueueAsync(new CreateQueueRequest { QueueName = queue, Attributes = new() { ["VisibilityTimeout"] = "90" } });

        await using var bus = AmazonSqsBus.Create(sqs.Options(), x => x.AddConsumer<SqsTimedWorkConsumer, SqsTimedWorkConsumerDefinition>(), s => s.AddSingleton(new SqsReceiveLog()));
        var failure = await StartAndReadFailureAsync(bus.Bus);

        Assert.Contains($"'{queue}'", failure, StringComparison.Ordinal);
        Assert.Contains("VisibilityTimeout=90", failure, StringComparison.Ordinal);
        using var check = sqs.CreateClient();
        var attributes = await check.GetQueueAttributesAsync(new GetQueueAttributesRequest((await check.GetQueueUrlAsync(queue)).QueueUrl, ["VisibilityTimeout"]));
        Assert.Equal(90, attributes.VisibilityTimeout);
    }

    /// <summary>What start-up or, once started, readiness says went wrong.</summary>
    internal static async Task<string> StartAndReadFailureAsync(IBusControl bus)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await bus.StartAsync(timeout.Token);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return exception.ToString();
        }

        string failure = "";
        await Wait.UntilAsync(
            () =>
            {
                var health = bus.CheckHealth();
                failure = health.Description + " " + string.Join(" ", health.Endpoints.Values.Select(e => e.Description + " " + e.Exception));
                return Task.FromResult(health.Status == BusHealthStatus.Unhealthy);
            },
            TimeSpan.FromSeconds(30),
            "readiness did not turn unhealthy");
        return failure;
    }
}

public sealed class When_aws_refuses_the_transport
{
    [AmazonSqsFact]
    public async Task Should_report_the_aws_error_code_and_the_queue_in_readiness_and_no_secret()
    {
        // Real SQS answers a missing permission like this; the emulator checks no policies, so a stub stands in for it.
        await using var aws = await HttpStub.StartAsync(app => app.MapPost("/{**path}", (HttpContext context) =>
        {
            context.Response.Headers["x-amzn-query-error"] = "AccessDenied;Sender";
            return Results.Text(
                """{"__type":"com.amazonaws.sqs#AccessDenied","message":"User: arn:aws:iam::123456789012:user/sagas is not authorized to perform: sqs:getqueueurl"}""",
                "application/x-amz-json-1.0",
                statusCode: 400);
        }));
        var logs = new CapturedLogs();
        var options = new AmazonSqsTransportOptions
        {
            ServiceUrl = aws.BaseAddress.ToString(),
            AccessKey = AmazonSqsTestTransport.AccessKey,
            SecretKey = AmazonSqsTestTransport.SecretKey,
            Prefix = "denied-",
            WaitTimeSeconds = 1,
        };
        await using var bus = AmazonSqsBus.Create(options, x => x.AddConsumer<SqsTimedWorkConsumer, SqsTimedWorkConsumerDefinition>(), s => s.AddSingleton(new SqsReceiveLog()).AddLogging(l => l.AddProvider(logs)));

        var failure = await When_a_queue_exists_with_other_attributes.StartAndReadFailureAsync(bus.Bus);

        Assert.Contains("AccessDenied", failure, StringComparison.Ordinal);
        Assert.Contains("queue 'denied-", failure, StringComparison.Ordinal);
        Assert.DoesNotContain(AmazonSqsTestTransport.SecretKey, failure, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Lines, line => line.Message.Contains(AmazonSqsTestTransport.SecretKey, StringComparison.Ordinal));
    }
}
