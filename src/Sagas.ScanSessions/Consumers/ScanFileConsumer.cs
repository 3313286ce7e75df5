using System.Security.Cryptography;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.ScanSessions;
using Sagas.Messaging;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.Fetching;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Sources;

namespace Sagas.ScanSessions.Consumers;

/// <summary>
/// The file worker (role <c>scan-files</c>, scale it out). It takes <c>ScanFile</c> messages in batches
/// (<see cref="ScanSessionsOptions.FileBatchSize"/>), skips files already recorded and files of sessions no longer
/// scanning, fetches, extracts and matches the rest in parallel, then counts the whole batch in one transaction through
/// <see cref="ScanFileRecorder"/>. A file whose scan throws (a poison file) is recorded as an Error on its own; the
/// rest of its batch is unaffected. A transient fetch failure is not recorded: once the others are counted the batch
/// throws, and each of its messages is retried alone (recorded ones are skipped cheaply); once a file's retries are
/// spent <see cref="ScanFileFaultConsumer"/> records it as an Error, so a session always completes.
/// </summary>
public sealed class ScanFileConsumer(
    SagasDbContext db,
    ScanFileRecorder recorder,
    IScanFileFetcher fetcher,
    ScanArchiveCache archives,
    ScanSessionsOptions options,
    ITextExtractor extractor,
    ScanSessionSecrets secrets) : IConsumer<Batch<ScanFile>>
{
    public async Task Consume(ConsumeContext<Batch<ScanFile>> context)
    {
        var cancellationToken = context.CancellationToken;
        var pending = new List<ScanFile>();
        var sessions = new Dictionary<Guid, SessionScan>();
        foreach (var group in context.Message.Select(c => c.Message).GroupBy(f => f.SessionId))
        {
            var session = await db.Set<ScanSession>().AsNoTracking()
                .Where(s => s.Id == group.Key)
                .Select(s => new { s.Status, s.CodesJson, s.UploadsJson })
                .SingleOrDefaultAsync(cancellationToken);
            if (session is null || session.Status != ScanSessionStatus.Scanning)
                continue;

            var indexes = group.Select(f => f.FileIndex).Distinct().ToList();
            var recorded = await db.Set<ScanFileResult>().AsNoTracking()
                .Where(r => r.SessionId == group.Key && indexes.Contains(r.FileIndex))
                .Select(r => r.FileIndex)
                .ToListAsync(cancellationToken);
            var done = recorded.ToHashSet();
            var todo = group.DistinctBy(f => f.FileIndex).Where(f => !done.Contains(f.FileIndex)).ToList();
            pending.AddRange(todo);
            sessions[group.Key] = new SessionScan(
                HoleCodeMatcher.Create(ScanSessionJson.Read(session.CodesJson)),
                ScanSessionJson.Read(session.UploadsJson),
                todo.Any(f => f.Kind == ScanFileKinds.Drive) ? await ReadDriveTokenAsync(group.Key, cancellationToken) : null);
        }

        if (pending.Count == 0)
            return;

        var scanned = new ScannedFile?[pending.Count];
        var unavailable = new string?[pending.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, pending.Count),
            new ParallelOptions { MaxDegreeOfParallelism = options.FileConcurrency, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                var file = pending[i];
                try
                {
                    scanned[i] = new ScannedFile(file, await ScanAsync(file, sessions[file.SessionId], token));
                }
                catch (ScanFileUnavailableException exception)
                {
                    unavailable[i] = exception.Message;
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    // Extraction and matching already turn bad input into per-file errors: this is a defect or a
                    // pathological file. Recording it keeps one file from failing, and retrying, the whole batch.
                    scanned[i] = new ScannedFile(file, ScanFileOutcome.Failed($"The file could not be scanned: {exception.Message}", LinkOf(file)));
                }
            });

        await recorder.RecordBatchAsync([.. scanned.OfType<ScannedFile>()], cancellationToken);

        if (unavailable.FirstOrDefault(reason => reason is not null) is { } reason)
            throw new ScanFileUnavailableException(reason);
    }

    private async Task<ScanFileOutcome> ScanAsync(ScanFile file, SessionScan session, CancellationToken cancellationToken)
    {
        var link = LinkOf(file);
        if (file.Error is { } known)
            return ScanFileOutcome.Failed(known, link);

        var content = await FetchAsync(file, session, cancellationToken);
        if (content.Error is { } error)
            return ScanFileOutcome.Failed(error, link);

        var result = FileScan.Run(extractor, session.Matcher, file.Name, content.Bytes, cancellationToken);
        return new ScanFileOutcome(result.Status, result.MatchedCodes, link, result.Error?.Message);
    }

    private async Task<(ReadOnlyMemory<byte> Bytes, string? Error)> FetchAsync(ScanFile file, SessionScan session, CancellationToken cancellationToken)
    {
        var uploadKeys = session.UploadKeys;
        ScanFileReference reference;
        switch (file.Kind)
        {
            case ScanFileKinds.Upload:
                if (!UploadLocator.TryParse(file.Locator, out var locator) || locator.UploadIndex >= uploadKeys.Count)
                    return (default, $"'{file.Locator}' does not name an uploaded file of this session.");
                if (locator.EntryIndex is { } entry)
                    {
                        var read = await archives.ReadEntryAsync(uploadKeys[locator.UploadIndex], entry, cancellationToken);
                        return read.Error is { } entryError ? (default, entryError.Message) : (read.Content, null);
                    }
                reference = new UploadedBlobReference(uploadKeys[locator.UploadIndex], file.Name);
                break;
            case ScanFileKinds.Drive:
                if (session.DriveToken is not { } token)
                    return (default, session.DriveTokenError ?? "A Google Drive file needs a Drive access token, and the session has none.");
                reference = new DriveFileReference(file.Locator, token.Value);
                break;
            case ScanFileKinds.Url when Uri.TryCreate(file.Locator, UriKind.Absolute, out var address):
                reference = new UrlReference(address);
                break;
            case ScanFileKinds.S3 when S3Prefix.TryParse(file.Locator, out var location, out _) && location.Prefix.Length > 0:
                reference = new S3ObjectReference(location.Bucket, location.Prefix);
                break;
            default:
                return (default, $"'{file.Locator}' is not a {file.Kind} location this worker can read.");
        }

        var fetched = await fetcher.FetchAsync(reference, cancellationToken);
        if (fetched.Failure is { } failure)
        {
            if (failure.Retryable)
                throw new ScanFileUnavailableException(failure.Reason);
            return (default, failure.Reason);
        }

        return (fetched.Value!.Content, null);
    }


    /// <summary>
    /// What the report, the result rows and <see cref="ScanMatchFound"/> show for a file. A URL loses its query and
    /// fragment: a signed URL's signature is a credential, and scheme, host and path are what a user recognises.
    /// </summary>
    internal static string? LinkOf(ScanFile file) => file.Kind switch
    {
        ScanFileKinds.Drive => $"https://drive.google.com/file/d/{file.Locator}/view",
        ScanFileKinds.Url => Uri.TryCreate(file.Locator, UriKind.Absolute, out var address) ? UrlFileFetcher.WithoutQuery(address) : null,
        ScanFileKinds.S3 => file.Locator,
        _ => null,
    };

    /// <summary>The session's token, or why a Drive file of it cannot be read; a token that cannot be opened fails its files, not the batch.</summary>
    private async Task<DriveTokenRead> ReadDriveTokenAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        try
        {
            return await secrets.ReadDriveTokenAsync(sessionId, cancellationToken) is { } token ? new DriveTokenRead(new DriveToken(token), null) : new DriveTokenRead(null, null);
        }
        catch (CryptographicException)
        {
            return new DriveTokenRead(null, "The session's Google Drive token could not be decrypted (its data-protection key is missing); start the session again.");
        }
    }

    private sealed record SessionScan(HoleCodeMatcher Matcher, IReadOnlyList<string> UploadKeys, DriveTokenRead? Drive)
    {
        public DriveToken? DriveToken => Drive?.Token;

        public string? DriveTokenError => Drive?.Error;
    }

    private sealed record DriveTokenRead(DriveToken? Token, string? Error);

    /// <summary>Keeps the token out of the records' generated ToString, which ends up in exception messages and logs.</summary>
    private sealed class DriveToken(string value)
    {
        public string Value { get; } = value;

        public override string ToString() => "***";
    }
}

/// <summary>A fetch that may succeed on a later attempt (timeout, throttling, 5xx).</summary>
public sealed class ScanFileUnavailableException(string message) : Exception(message);

/// <summary>Records a file whose every attempt failed as an Error, so the session still reaches its end.</summary>
public sealed class ScanFileFaultConsumer(ScanFileRecorder recorder) : IConsumer<Fault<ScanFile>>
{
    public async Task Consume(ConsumeContext<Fault<ScanFile>> context)
    {
        var reason = context.Message.Exceptions.FirstOrDefault()?.Message ?? "The file could not be scanned.";
        var file = context.Message.Message;
        await recorder.RecordAsync(file, ScanFileOutcome.Failed($"The file could not be scanned: {reason}", ScanFileConsumer.LinkOf(file)), context.CancellationToken);
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

        // Both retry the messages of a failed batch one by one (MassTransit delivers a retried message as a batch of
        // its own): after a transient database error, or for a file whose fetch failed transiently.
        endpointConfigurator.UseDatabaseRetry(retry => retry.MaxInterval = TimeSpan.FromSeconds(2));
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Handle<ScanFileUnavailableException>();
            retry.Exponential(_options.FileRetryLimit, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(2));
        });
    }
}

public sealed class ScanFileFaultConsumerDefinition : ConsumerDefinition<ScanFileFaultConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<ScanFileFaultConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(retry => retry.MaxInterval = TimeSpan.FromSeconds(2));
}
