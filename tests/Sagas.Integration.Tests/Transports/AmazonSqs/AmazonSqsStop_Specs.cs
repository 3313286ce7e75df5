using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Integration.Tests.Scheduling;

namespace Sagas.Integration.Tests.Transports.AmazonSqs;

public sealed record SqsGatedWork(Guid Id, bool Blocks);

/// <summary>Holds the consumer of a blocking message until a condition of the spec's holds, or a limit passes.</summary>
public sealed class SqsGate(Func<Task<bool>> opensWhen, TimeSpan limit)
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SqsGate()
        : this(() => Task.FromResult(true), TimeSpan.Zero)
    {
    }

    public Task Entered => _entered.Task;

    public async Task WaitAsync()
    {
        _entered.TrySetResult();
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (!await opensWhen() && Stopwatch.GetTimestamp() < deadline)
            await Task.Delay(50);
    }
}

public sealed class SqsGatedWorkConsumer(SqsReceiveLog log, SqsGate gate) : IConsumer<SqsGatedWork>
{
    public async Task Consume(ConsumeContext<SqsGatedWork> context)
    {
        log.Received.Enqueue((context.Message.Id, Stopwatch.GetTimestamp()));
        if (context.Message.Blocks)
            await gate.WaitAsync();
    }
}

/// <summary>One message at a time out of five held, so the others the endpoint fetched wait in its hands.</summary>
public sealed class SqsGatedWorkConsumerDefinition : ConsumerDefinition<SqsGatedWorkConsumer>
{
    public const string Queue = "sqs-gated-work";

    public SqsGatedWorkConsumerDefinition()
    {
        EndpointName = Queue;
        ConcurrentMessageLimit = 1;
        Endpoint(endpoint => endpoint.PrefetchCount = 5);
    }
}

/// <summary>
/// A stopping endpoint leaves nothing invisible behind: SQS hands a message to a long poll whose caller has gone (the
/// HTTP request is cancelled, the receive on the server is not), and a message fetched but never started stays hidden
/// for the whole visibility timeout (30 s here) unless it is given back. Either way the next consumer would wait. These
/// specs give the next consumer 10 s.
/// </summary>
public sealed class When_an_amazon_sqs_endpoint_stops(AmazonSqsTestTransport sqs) : IClassFixture<AmazonSqsTestTransport>
{
    private static readonly TimeSpan WellBeforeTheVisibilityTimeout = TimeSpan.FromSeconds(10);

    [AmazonSqsFact]
    public async Task Should_not_leave_a_long_poll_behind_that_takes_the_next_message()
    {
        await using var sender = await AmazonSqsBus.StartAsync(sqs.Options(), _ => { });
        var stopped = new SqsReceiveLog();
        var options = sqs.Options();
        // A long poll, so the stop surely comes in the middle of one.
        options.WaitTimeSeconds = 10;
        await (await AmazonSqsBus.StartAsync(options, x => x.AddConsumer<SqsGatedWorkConsumer, SqsGatedWorkConsumerDefinition>(), s => s.AddSingleton(stopped).AddSingleton(new SqsGate()))).DisposeAsync();
        var id = NewId.NextGuid();

        await sender.SendAsync(SqsGatedWorkConsumerDefinition.Queue, new SqsGatedWork(id, Blocks: false));

        var next = new SqsReceiveLog();
        await using var second = await AmazonSqsBus.StartAsync(sqs.Options(), x => x.AddConsumer<SqsGatedWorkConsumer, SqsGatedWorkConsumerDefinition>(), s => s.AddSingleton(next).AddSingleton(new SqsGate()));
        await Wait.UntilAsync(() => Task.FromResult(next.Count(id) == 1), WellBeforeTheVisibilityTimeout, "the message sent after the stop did not reach the next consumer");
        Assert.Equal(0, stopped.Count(id));
    }

    [AmazonSqsFact]
    public async Task Should_give_back_the_messages_it_held_but_had_not_started()
    {
        await using var sender = await AmazonSqsBus.StartAsync(sqs.Options(), _ => { });
        var stopped = new SqsReceiveLog();
        // The blocked consumer finishes once the endpoint is stopping and the three it holds back are visible again in
        // the queue, which only a stopping endpoint giving them back makes them: so none of them can have started here.
        // Without the give-back it waits out its limit, and they stay hidden for the rest of their 30 s. (Before the stop,
        // the three are visible for a moment between their sends and the endpoint's fetch; a gate that opened then let
        // the endpoint consume them, and the wait for them in its hands below timed out in a clean-clone run.)
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new SqsGate(
            async () => stopping.Task.IsCompleted && await sqs.CountAsync(SqsGatedWorkConsumerDefinition.Queue) == 3,
            TimeSpan.FromSeconds(60));
        var first = await AmazonSqsBus.StartAsync(sqs.Options(), x => x.AddConsumer<SqsGatedWorkConsumer, SqsGatedWorkConsumerDefinition>(), s => s.AddSingleton(stopped).AddSingleton(gate));
        var blocking = NewId.NextGuid();
        Guid[] waiting = [NewId.NextGuid(), NewId.NextGuid(), NewId.NextGuid()];
        Stopwatch sinceTheStop;
        try
        {
            await sender.SendAsync(SqsGatedWorkConsumerDefinition.Queue, new SqsGatedWork(blocking, Blocks: true));
            await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));
            foreach (var id in waiting)
                await sender.SendAsync(SqsGatedWorkConsumerDefinition.Queue, new SqsGatedWork(id, Blocks: false));
            // All three fetched: in the endpoint's hands behind the blocked one, invisible to anybody else.
            await Wait.UntilAsync(
                async () => (await sqs.QueuesAsync()).Single(q => q.Name == SqsGatedWorkConsumerDefinition.Queue).Messages == 4 && await sqs.CountAsync(SqsGatedWorkConsumerDefinition.Queue) == 0,
                TimeSpan.FromSeconds(30),
                "the endpoint did not fetch the waiting messages");
        }
        finally
        {
            sinceTheStop = Stopwatch.StartNew();
            stopping.TrySetResult();
            await first.DisposeAsync();
        }

        Assert.True(sinceTheStop.Elapsed < WellBeforeTheVisibilityTimeout, $"the stop took {sinceTheStop.Elapsed.TotalSeconds:0.0} s: the held messages were not given back, so the blocked consumer waited out its limit");
        var next = new SqsReceiveLog();
        await using var second = await AmazonSqsBus.StartAsync(sqs.Options(), x => x.AddConsumer<SqsGatedWorkConsumer, SqsGatedWorkConsumerDefinition>(), s => s.AddSingleton(next).AddSingleton(new SqsGate()));
        await Wait.UntilAsync(() => Task.FromResult(waiting.All(id => next.Count(id) == 1)), WellBeforeTheVisibilityTimeout - sinceTheStop.Elapsed,
            "the messages the stopped endpoint held did not reach the next consumer");
        Assert.Equal([1, 0, 0, 0], new[] { blocking }.Concat(waiting).Select(stopped.Count));
    }
}
