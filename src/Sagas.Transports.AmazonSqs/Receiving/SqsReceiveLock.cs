using System.Threading.Channels;
using MassTransit.Transports;
using Microsoft.Extensions.Logging;

namespace Sagas.Transports.AmazonSqs.Receiving;

/// <summary>
/// Holds one received message while it is consumed: its visibility timeout is extended every half timeout so a slow
/// consumer keeps it, and it is deleted (in a batch) once consumed or moved to an error queue. A message whose
/// handling failed is simply no longer extended: SQS delivers it again when the timeout runs out. One the endpoint
/// stopped before starting it is released at once.
/// </summary>
internal sealed class SqsReceiveLock : ReceiveLockContext, IDisposable
{
    private readonly SqsBroker _broker;
    private readonly SqsQueue _queue;
    private readonly string _receiptHandle;
    private readonly SqsDeleteBatcher _deletes;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _held = new();
    private readonly Task _renewal;

    public SqsReceiveLock(SqsBroker broker, SqsQueue queue, string receiptHandle, SqsDeleteBatcher deletes, ILogger logger)
    {
        _broker = broker;
        _queue = queue;
        _receiptHandle = receiptHandle;
        _deletes = deletes;
        _logger = logger;
        _renewal = RenewAsync(_held.Token);
    }

    public async Task Complete()
    {
        await StopRenewingAsync();
        await _deletes.DeleteAsync(_receiptHandle);
    }

    public Task Faulted(Exception exception) => StopRenewingAsync();

    /// <summary>For a message the stopping endpoint never started: visible again at once, not after its timeout.</summary>
    public async Task ReleaseAsync()
    {
        await StopRenewingAsync();
        await _broker.ReleaseQuietlyAsync(_queue, [_receiptHandle]);
    }

    public Task ValidateLockStatus() => Task.CompletedTask;

    public void Dispose()
    {
        _held.Cancel();
        _held.Dispose();
    }

    private async Task StopRenewingAsync()
    {
        if (!_held.IsCancellationRequested)
            await _held.CancelAsync();
        await _renewal;
    }

    private async Task RenewAsync(CancellationToken held)
    {
        var timeout = _broker.Options.VisibilityTimeoutSeconds;
        var interval = TimeSpan.FromSeconds(timeout / 2.0);
        try
        {
            while (true)
            {
                await Task.Delay(interval, held);
                await _broker.ExtendVisibilityAsync(_queue, _receiptHandle, timeout, held);
            }
        }
        catch (OperationCanceledException) when (held.IsCancellationRequested)
        {
            // Consumed, faulted or stopping: no more extensions.
        }
        catch (SqsTransportException exception)
        {
            // The message may be delivered again to another consumer; consumers are idempotent (docs/reliability.md).
            _logger.LogWarning(exception, "Could not extend the visibility of a message on {Queue}; it may be delivered again", _queue.Name);
        }
    }
}

/// <summary>
/// Collects the deletes of one receive endpoint and sends them ten at a time: under load consumed messages are
/// deleted in batches, while a lone message is deleted at once rather than waiting for company.
/// </summary>
internal sealed class SqsDeleteBatcher : IAsyncDisposable
{
    private readonly SqsBroker _broker;
    private readonly SqsQueue _queue;
    private readonly Channel<(string ReceiptHandle, TaskCompletionSource Done)> _pending =
        Channel.CreateUnbounded<(string, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Task _loop;

    public SqsDeleteBatcher(SqsBroker broker, SqsQueue queue)
    {
        _broker = broker;
        _queue = queue;
        _loop = Task.Run(RunAsync);
    }

    public Task DeleteAsync(string receiptHandle)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_pending.Writer.TryWrite((receiptHandle, done)))
            done.SetException(new InvalidOperationException($"The receive endpoint of {_queue.Name} has stopped; the message will be delivered again."));
        return done.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _loop;
    }

    private async Task RunAsync()
    {
        var batch = new List<(string ReceiptHandle, TaskCompletionSource Done)>(10);
        while (await _pending.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < 10 && _pending.Reader.TryRead(out var item))
                batch.Add(item);

            try
            {
                var failed = await _broker.DeleteAsync(_queue, [.. batch.Select(b => b.ReceiptHandle)], CancellationToken.None);
                foreach (var (handle, done) in batch)
                {
                    if (failed.TryGetValue(handle, out var reason))
                        done.SetException(new SqsTransportException($"Amazon SQS did not delete a consumed message from queue '{_queue.Name}' ({reason}); it will be delivered again."));
                    else
                        done.SetResult();
                }
            }
            catch (Exception exception)
            {
                foreach (var (_, done) in batch)
                    done.SetException(exception);
            }
        }
    }
}
