using MassTransit;
using Sagas.Contracts.ScanSessions;
using Sagas.Messaging;
using Sagas.ScanSessions.Data;

namespace Sagas.ScanSessions.Consumers;

/// <summary>
/// The dispatcher's files (queue <c>scan-file-chunk</c>): each message is one session's files, scanned and counted as
/// one batch by <see cref="FileBatchScanner"/>.
/// </summary>
public sealed class ScanFileChunkConsumer(FileBatchScanner scanner) : IConsumer<ScanFileChunk>
{
    public Task Consume(ConsumeContext<ScanFileChunk> context) => scanner.ScanAsync(context.Message.Files, context);
}

/// <summary>
/// Single files (queue <c>scan-file</c>): a file sent again after a transient fetch failure, and whatever an older
/// dispatcher published one file per message. Taken in batches of <see cref="ScanSessionsOptions.FileBatchSize"/>.
/// </summary>
public sealed class ScanFileConsumer(FileBatchScanner scanner) : IConsumer<Batch<ScanFile>>
{
    public Task Consume(ConsumeContext<Batch<ScanFile>> context) => scanner.ScanAsync(context.Message.Select(c => c.Message), context);
}

/// <summary>Records files whose message failed for good (the database stayed away) as Errors, so the session still reaches its end.</summary>
public sealed class ScanFileFaultConsumer(ScanFileRecorder recorder) : IConsumer<Fault<ScanFile>>, IConsumer<Fault<ScanFileChunk>>
{
    public Task Consume(ConsumeContext<Fault<ScanFile>> context) =>
        RecordFailedAsync([context.Message.Message], context.Message, context.CancellationToken);

    public Task Consume(ConsumeContext<Fault<ScanFileChunk>> context) =>
        RecordFailedAsync(context.Message.Message.Files, context.Message, context.CancellationToken);

    private async Task RecordFailedAsync(IReadOnlyList<ScanFile> files, Fault fault, CancellationToken cancellationToken)
    {
        var reason = fault.Exceptions.FirstOrDefault()?.Message ?? "The file could not be scanned.";
        await recorder.RecordBatchAsync(
            [.. files.Select(file => new ScannedFile(file, ScanFileOutcome.Failed($"The file could not be scanned: {reason}", FileBatchScanner.LinkOf(file))))],
            cancellationToken);
    }
}

public sealed class ScanFileChunkConsumerDefinition : ConsumerDefinition<ScanFileChunkConsumer>
{
    private readonly ScanSessionsOptions _options;

    public ScanFileChunkConsumerDefinition(ScanSessionsOptions options)
    {
        _options = options;
        ConcurrentMessageLimit = options.FileBatchConcurrency;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<ScanFileChunkConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // One chunk waiting per worker beyond those it scans: a worker holding many chunks ahead would leave the other
        // workers idle at the end of a session while it works through its share.
        endpointConfigurator.PrefetchCount = _options.FileBatchConcurrency + 1;

        // Only a transient database error fails a chunk (a file's own problems never do): the message is retried.
        endpointConfigurator.UseDatabaseRetry(context, retry => retry.MaxInterval = TimeSpan.FromSeconds(2));
    }
}

public sealed class ScanFileConsumerDefinition : ConsumerDefinition<ScanFileConsumer>
{
    private readonly ScanSessionsOptions _options;

    public ScanFileConsumerDefinition(ScanSessionsOptions options)
    {
        _options = options;

        // Room for every batch in flight plus the next one filling, so a batch fills before its time limit.
        ConcurrentMessageLimit = options.FileBatchSize * (options.FileBatchConcurrency + 1);
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<ScanFileConsumer> consumerConfigurator, IRegistrationContext context)
    {
        consumerConfigurator.Options<BatchOptions>(batch => batch
            .SetMessageLimit(_options.FileBatchSize)
            .SetTimeLimit(_options.FileBatchTimeLimit)
            .SetConcurrencyLimit(_options.FileBatchConcurrency));

        // Only a transient database error fails a batch (a file's own problems never do): its messages are retried.
        endpointConfigurator.UseDatabaseRetry(context, retry => retry.MaxInterval = TimeSpan.FromSeconds(2));
    }
}

public sealed class ScanFileFaultConsumerDefinition : ConsumerDefinition<ScanFileFaultConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<ScanFileFaultConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context, retry => retry.MaxInterval = TimeSpan.FromSeconds(2));
}
