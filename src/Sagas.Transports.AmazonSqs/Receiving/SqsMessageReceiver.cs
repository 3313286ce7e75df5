using System.Diagnostics.CodeAnalysis;
using Amazon.SQS.Model;
using MassTransit;
using MassTransit.Transports;
using Microsoft.Extensions.Logging;
using Sagas.Transports.AmazonSqs.Configuration;

namespace Sagas.Transports.AmazonSqs.Receiving;

/// <summary>
/// The receive loop of one endpoint: long-polls for as many messages (up to ten) as the endpoint has room for, holds
/// at most <c>PrefetchCount</c> at once and consumes at most <c>ConcurrentMessageLimit</c> of them at once. A queue
/// deleted under it is logged and declared again (with its subscriptions); any other failure ends the loop, which
/// faults the endpoint (readiness shows the error) until MassTransit restarts it. Stopping, it finishes its last poll
/// and releases every message it took but did not start.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "The semaphores never hand out a wait handle, so there is nothing to dispose; a handler may still release one just after the agent completed.")]
internal sealed class SqsMessageReceiver : ConsumerAgent<string>
{
    /// <summary>How long past its wait a stopping endpoint's last long poll may take before it is cut off.</summary>
    private const int DrainSlackSeconds = 5;

    private readonly SqsReceiveEndpointContext _context;
    private readonly SqsBroker _broker;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _held;
    private readonly SemaphoreSlim _consuming;
    private SqsQueue _queue;
    private SqsDeleteBatcher _deletes;

    public SqsMessageReceiver(SqsReceiveEndpointContext context, SqsQueue queue)
        : base(context, StringComparer.Ordinal)
    {
        _context = context;
        _broker = context.Broker;
        _logger = context.Logger;
        _queue = queue;
        _deletes = new SqsDeleteBatcher(_broker, queue);
        var consuming = context.ConcurrentMessageLimit ?? context.PrefetchCount;
        _held = new SemaphoreSlim(Math.Max(context.PrefetchCount, consuming));
        _consuming = new SemaphoreSlim(consuming);
        ConsumeLoop = Task.Run(ConsumeAsync);
        TrySetConsumeTask(ConsumeLoop);
    }

    /// <summary>The receive loop; faulted when AWS refused it something it could not recover from.</summary>
    public Task ConsumeLoop { get; }

    /// <summary>Whether the loop ended because the endpoint is stopping (rather than a fault).</summary>
    public bool HasStopped => IsStopping;

    protected override async Task ActiveAndActualAgentsCompleted(StopContext context)
    {
        await base.ActiveAndActualAgentsCompleted(context);
        // Every dispatch has finished: the last deletes go out before the endpoint reports stopped.
        await _deletes.DisposeAsync();
    }

    private async Task ConsumeAsync()
    {
        SetReady();
        // A long poll is not abandoned: SQS can hand a message to a receive whose caller has gone (cancelling the HTTP
        // request does not cancel the receive on the server), and that message would stay hidden for a whole visibility
        // timeout. So a stopping endpoint lets its poll run out (at most WaitTimeSeconds; cut off only after some slack,
        // for a connection that hangs) and gives back whatever the poll brought. The bus's own response queue is deleted
        // as the bus stops, taking anything in it along, so its poll is simply cancelled.
        var drainTime = _context.IsTemporary ? TimeSpan.Zero : TimeSpan.FromSeconds(_broker.Options.WaitTimeSeconds + DrainSlackSeconds);
        using var poll = new CancellationTokenSource();
        await using var drain = Stopping.Register(() => poll.CancelAfter(drainTime));
        try
        {
            while (!IsStopping)
            {
                await _held.WaitAsync(Stopping);
                var room = 1;
                while (room < 10 && _held.Wait(0))
                    room++;

                List<Message> messages;
                try
                {
                    messages = await _broker.ReceiveAsync(_queue, room, poll.Token);
                }
                catch (QueueDoesNotExistException)
                {
                    _held.Release(room);
                    if (IsStopping)
                        break;
                    await RedeclareQueueAsync();
                    continue;
                }
                catch
                {
                    _held.Release(room);
                    throw;
                }

                if (IsStopping)
                {
                    _held.Release(room);
                    await _broker.ReleaseQuietlyAsync(_queue, [.. messages.Select(m => m.ReceiptHandle)]);
                    break;
                }

                if (room > messages.Count)
                    _held.Release(room - messages.Count);
                foreach (var message in messages)
                    _ = HandleAsync(message, _queue, _deletes);
            }
        }
        catch (OperationCanceledException) when (IsStopping)
        {
            // Stopping while waiting for room, or a poll that hung past its time: nothing was taken that is not given back.
        }
    }

    private async Task HandleAsync(Message message, SqsQueue queue, SqsDeleteBatcher deletes)
    {
        using var receiveLock = new SqsReceiveLock(_broker, queue, message.ReceiptHandle, deletes, _logger);
        try
        {
            await _consuming.WaitAsync(Stopping);
            try
            {
                var context = new SqsReceiveContext(message, _context, receiveLock);
                try
                {
                    await Dispatch(message.MessageId, context, receiveLock);
                }
                catch (Exception exception)
                {
                    context.LogTransportFaulted(exception);
                }
                finally
                {
                    context.Dispose();
                }
            }
            finally
            {
                _consuming.Release();
            }
        }
        catch (OperationCanceledException) when (IsStopping)
        {
            // Held but never started: given back, so the next consumer has it now rather than after the timeout.
            await receiveLock.ReleaseAsync();
        }
        finally
        {
            _held.Release();
        }
    }

    private async Task RedeclareQueueAsync()
    {
        _logger.LogWarning("Amazon SQS queue {Queue} was deleted while {InputAddress} was consuming from it; declaring it and its subscriptions again", _queue.Name, _context.InputAddress);
        _broker.ForgetQueue(_context.QueueName);
        var queue = await _broker.DeclareEndpointAsync(_context.QueueName, _context.Topics, Stopping);
        var previous = _deletes;
        _deletes = new SqsDeleteBatcher(_broker, queue);
        _queue = queue;
        // Messages of the old queue are gone with it; their pending deletes fail and are retried by nobody.
        _ = previous.DisposeAsync().AsTask();
    }
}

/// <summary>
/// The transport pipe's last filter: declares the endpoint's topology (again after every restart), then runs the
/// receive loop until the endpoint stops or the loop faults.
/// </summary>
internal sealed class SqsConsumerFilter(SqsReceiveEndpointContext context) : IFilter<SqsClientContext>
{
    public async Task Send(SqsClientContext client, IPipe<SqsClientContext> next)
    {
        var queue = await context.Broker.DeclareEndpointAsync(context.QueueName, context.Topics, client.CancellationToken);
        var receiver = new SqsMessageReceiver(context, queue);
        await receiver.Ready;
        client.Supervisor.AddConsumeAgent(receiver);
        // Stopped while the topology was being declared: the supervisor's stop has passed already, so stop the loop here.
        if (client.Supervisor.ConsumeStopping.IsCancellationRequested)
            await receiver.Stop("The receive endpoint stopped while it was starting");
        await context.TransportObservers.NotifyReady(context.InputAddress);
        try
        {
            await receiver.Completed;
            // A loop that died stops the agent quietly; rethrown here, it faults the endpoint (readiness shows why) and
            // MassTransit restarts the transport with back-off instead of leaving the queue unread.
            if (receiver.ConsumeLoop.IsFaulted)
                await receiver.ConsumeLoop;
        }
        finally
        {
            DeliveryMetrics metrics = receiver;
            await context.TransportObservers.NotifyCompleted(context.InputAddress, metrics);
            context.LogConsumerCompleted(metrics.DeliveryCount, metrics.ConcurrentDeliveryCount);
            if (context.IsTemporary && receiver.HasStopped)
                await context.Broker.DeleteQueueAsync(context.QueueName, CancellationToken.None);
        }
    }

    public void Probe(ProbeContext probe) => probe.CreateFilterScope("amazonSqsConsumer");
}
