using System.Collections.Concurrent;
using System.Diagnostics;
using Amazon.SQS.Model;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.Integration.Tests.Scheduling;
using Sagas.Transports.AmazonSqs;

namespace Sagas.Integration.Tests.Transports.AmazonSqs;

public sealed record SqsSlowWork(Guid Id);

public sealed record SqsTimedWork(Guid Id);

/// <summary>When each consumer saw each message, for the receive specs.</summary>
public sealed class SqsReceiveLog
{
    public ConcurrentQueue<(Guid Id, long Ticks)> Received { get; } = new();

    public int Count(Guid id) => Received.Count(r => r.Id == id);
}

public sealed class SqsSlowWorkConsumer(SqsReceiveLog log) : IConsumer<SqsSlowWork>
{
    public static readonly TimeSpan WorkTime = TimeSpan.FromSeconds(5);

    public async Task Consume(ConsumeContext<SqsSlowWork> context)
    {
        log.Received.Enqueue((context.Message.Id, Stopwatch.GetTimestamp()));
        // Longer than the queue's visibility timeout (2 s): only the transport's renewal keeps the message from reappearing.
        await Task.Delay(WorkTime, context.CancellationToken);
    }
}

public sealed class SqsSlowWorkConsumerDefinition : ConsumerDefinition<SqsSlowWorkConsumer>
{
    public const string Queue = "sqs-slow-work";

    public SqsSlowWorkConsumerDefinition() => EndpointName = Queue;
}

public sealed class SqsTimedWorkConsumer(SqsReceiveLog log) : IConsumer<SqsTimedWork>
{
    public Task Consume(ConsumeContext<SqsTimedWork> context)
    {
        log.Received.Enqueue((context.Message.Id, Stopwatch.GetTimestamp()));
        return Task.CompletedTask;
    }
}

public sealed class SqsTimedWorkConsumerDefinition : ConsumerDefinition<SqsTimedWorkConsumer>
{
    public const string Queue = "sqs-timed-work";

    public SqsTimedWorkConsumerDefinition() => EndpointName = Queue;
}

public sealed class When_a_consumer_is_slower_than_the_visibility_timeout(AmazonSqsTestTransport sqs) : IClassFixture<AmazonSqsTestTransport>
{
    [AmazonSqsFact]
    public async Task Should_keep_the_message_hidden_until_it_is_consumed_and_deliver_it_once()
    {
        var log = new SqsReceiveLog();
        await using var bus = await AmazonSqsBus.StartAsync(sqs.Options(visibilityTimeoutSeconds: 2), x => x.AddConsumer<SqsSlowWorkConsumer, SqsSlowWorkConsumerDefinition>(), s => s.AddSingleton(log));
        var id = NewId.NextGuid();

        await bus.SendAsync(SqsSlowWorkConsumerDefinition.Queue, new SqsSlowWork(id));

        await Wait.UntilAsync(() => Task.FromResult(log.Count(id) == 1), TimeSpan.FromSeconds(30), "the slow message was not consumed");
        // Consumed (deleted) only after the 5 s of work, well past two visibility timeouts: then nothing is left to deliver.
        await Wait.UntilAsync(async () => await InFlightAsync() == 0, TimeSpan.FromSeconds(30), "the slow message was not deleted");
        Assert.Equal(1, log.Count(id));
    }

    private async Task<int> InFlightAsync()
    {
        using var client = sqs.CreateClient();
        var url = (await client.GetQueueUrlAsync(SqsNames.Queue(sqs.Prefix, SqsSlowWorkConsumerDefinition.Queue))).QueueUrl;
        var attributes = await client.GetQueueAttributesAsync(new GetQueueAttributesRequest(url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]));
        return attributes.ApproximateNumberOfMessages + attributes.ApproximateNumberOfMessagesNotVisible;
    }
}

public sealed class When_a_message_is_sent_with_a_delay(AmazonSqsTestTransport sqs) : IClassFixture<AmazonSqsTestTransport>
{
    [AmazonSqsFact]
    public async Task Should_arrive_no_earlier_than_the_delay_through_delay_seconds()
    {
        var log = new SqsReceiveLog();
        await using var bus = await AmazonSqsBus.StartAsync(sqs.Options(), x => x.AddConsumer<SqsTimedWorkConsumer, SqsTimedWorkConsumerDefinition>(), s => s.AddSingleton(log));
        var endpoint = await bus.Bus.GetSendEndpoint(new Uri($"queue:{SqsTimedWorkConsumerDefinition.Queue}"));
        var id = NewId.NextGuid();
        var delay = TimeSpan.FromSeconds(1.2);

        var sent = Stopwatch.GetTimestamp();
        await endpoint.Send(new SqsTimedWork(id), context => context.Delay = delay);

        await Wait.UntilAsync(() => Task.FromResult(log.Count(id) == 1), TimeSpan.FromSeconds(30), "the delayed message was not consumed");
        var elapsed = Stopwatch.GetElapsedTime(sent, log.Received.Single(r => r.Id == id).Ticks);
        // 1.2 s rounds up to 2 s of DelaySeconds: never early.
        Assert.True(elapsed >= TimeSpan.FromSeconds(2), $"delivered after {elapsed.TotalSeconds:0.00} s");
    }

    [AmazonSqsFact]
    public async Task Should_refuse_a_delay_longer_than_fifteen_minutes_naming_the_scheduler()
    {
        await using var bus = await AmazonSqsBus.StartAsync(sqs.Options(), _ => { });
        var endpoint = await bus.Bus.GetSendEndpoint(new Uri($"queue:{SqsTimedWorkConsumerDefinition.Queue}-long"));

        var refused = await Assert.ThrowsAsync<NotSupportedException>(() => endpoint.Send(new SqsTimedWork(NewId.NextGuid()), context => context.Delay = TimeSpan.FromMinutes(16)));

        Assert.Contains("scheduler", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, await sqs.CountAsync($"{SqsTimedWorkConsumerDefinition.Queue}-long"));
    }
}

public sealed class When_a_body_cannot_be_read(AmazonSqsTestTransport sqs) : IClassFixture<AmazonSqsTestTransport>
{
    [AmazonSqsFact]
    public async Task Should_move_it_to_the_error_queue_and_keep_consuming()
    {
        var log = new SqsReceiveLog();
        await using var bus = await AmazonSqsBus.StartAsync(sqs.Options(), x => x.AddConsumer<SqsTimedWorkConsumer, SqsTimedWorkConsumerDefinition>(), s => s.AddSingleton(log));
        using (var client = sqs.CreateClient())
        {
            var url = (await client.GetQueueUrlAsync(SqsNames.Queue(sqs.Prefix, SqsTimedWorkConsumerDefinition.Queue))).QueueUrl;
            await client.SendMessageAsync(new SendMessageRequest(url, "{ this is not an envelope")
            {
                MessageAttributes = new() { [SqsMessage.ContentTypeAttribute] = new MessageAttributeValue { DataType = "String", StringValue = "application/vnd.masstransit+json" } },
            });
        }

        await Wait.UntilAsync(async () => await sqs.CountAsync(SqsTimedWorkConsumerDefinition.Queue + SqsNames.ErrorSuffix) == 1, TimeSpan.FromSeconds(30), "the unreadable body did not reach the error queue");

        var id = NewId.NextGuid();
        await bus.SendAsync(SqsTimedWorkConsumerDefinition.Queue, new SqsTimedWork(id));
        await Wait.UntilAsync(() => Task.FromResult(log.Count(id) == 1), TimeSpan.FromSeconds(30), "the endpoint stopped consuming after the unreadable body");
        Assert.Equal(0, await sqs.CountAsync(SqsTimedWorkConsumerDefinition.Queue));
    }
}

public sealed class When_the_queue_is_deleted_under_a_running_endpoint(AmazonSqsTestTransport sqs) : IClassFixture<AmazonSqsTestTransport>
{
    [AmazonSqsFact]
    public async Task Should_log_it_declare_it_again_and_keep_consuming()
    {
        var log = new SqsReceiveLog();
        var logs = new CapturedLogs();
        await using var bus = await AmazonSqsBus.StartAsync(
            sqs.Options(),
            x => x.AddConsumer<SqsTimedWorkConsumer, SqsTimedWorkConsumerDefinition>(),
            s => s.AddSingleton(log).AddLogging(logging => logging.AddProvider(logs)));
        var queue = SqsNames.Queue(sqs.Prefix, SqsTimedWorkConsumerDefinition.Queue);
        using (var client = sqs.CreateClient())
            await client.DeleteQueueAsync((await client.GetQueueUrlAsync(queue)).QueueUrl);

        await Wait.UntilAsync(() => Task.FromResult(logs.Contains(LogLevel.Warning, $"{queue} was deleted")), TimeSpan.FromSeconds(30), "the deleted queue was not noticed");
        var id = NewId.NextGuid();
        await bus.SendAsync(SqsTimedWorkConsumerDefinition.Queue, new SqsTimedWork(id));

        await Wait.UntilAsync(() => Task.FromResult(log.Count(id) == 1), TimeSpan.FromSeconds(30), "the endpoint did not consume from the declared-again queue");
        Assert.Equal(BusHealthStatus.Healthy, bus.Bus.CheckHealth().Status);
    }
}

public sealed record SqsFlakyWork(Guid Id);

/// <summary>Fails its first attempt at each message, then consumes it; records the redelivery count it saw.</summary>
public sealed class SqsFlakyWorkConsumer(SqsReceiveLog log) : IConsumer<SqsFlakyWork>
{
    public Task Consume(ConsumeContext<SqsFlakyWork> context)
    {
        log.Received.Enqueue((context.Message.Id, Stopwatch.GetTimestamp()));
        if (context.GetRedeliveryCount() == 0)
            throw new InvalidOperationException("first attempt fails");
        return Task.CompletedTask;
    }
}

public sealed class SqsFlakyWorkConsumerDefinition : ConsumerDefinition<SqsFlakyWorkConsumer>
{
    public const string Queue = "sqs-flaky-work";

    public SqsFlakyWorkConsumerDefinition() => EndpointName = Queue;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<SqsFlakyWorkConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDelayedRedelivery(redelivery => redelivery.Intervals(TimeSpan.FromSeconds(1)));
}

public sealed class When_a_consumer_asks_for_delayed_redelivery(AmazonSqsTestTransport sqs) : IClassFixture<AmazonSqsTestTransport>
{
    [AmazonSqsFact]
    public async Task Should_redeliver_it_through_delay_seconds_and_consume_it()
    {
        var log = new SqsReceiveLog();
        await using var bus = await AmazonSqsBus.StartAsync(sqs.Options(), x => x.AddConsumer<SqsFlakyWorkConsumer, SqsFlakyWorkConsumerDefinition>(), s => s.AddSingleton(log));
        var id = NewId.NextGuid();

        await bus.SendAsync(SqsFlakyWorkConsumerDefinition.Queue, new SqsFlakyWork(id));

        await Wait.UntilAsync(() => Task.FromResult(log.Count(id) == 2), TimeSpan.FromSeconds(30), "the message was not redelivered");
        var attempts = log.Received.Where(r => r.Id == id).Select(r => r.Ticks).ToArray();
        Assert.True(Stopwatch.GetElapsedTime(attempts[0], attempts[1]) >= TimeSpan.FromSeconds(1), "redelivered early");
        Assert.Equal(0, await sqs.CountAsync(SqsFlakyWorkConsumerDefinition.Queue + SqsNames.ErrorSuffix));
    }
}
