using MassTransit;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.ScanSessions;
using Sagas.Persistence;
using Sagas.Persistence.SagaRepository;
using Sagas.Persistence.ScanSessions;
using Sagas.ScanSessions.Fetching;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Sources;
using Sagas.Storage.Blobs;
using Sagas.Storage.Content;

namespace Sagas.ScanSessions.Sessions;

/// <summary>
/// The file worker (role <c>scan-files</c>, scale it out): fetch, extract, match, then count through
/// <see cref="ScanFileRecorder"/>. Files of a session that is no longer scanning (cancelled, failed) are skipped.
/// A transient fetch failure throws so the endpoint retries; once the retries are spent
/// <see cref="ScanFileFaultConsumer"/> records the file as an Error, so a session always completes.
/// </summary>
public sealed class ScanFileConsumer(
    SagasDbContext db,
    ScanFileRecorder recorder,
    IScanFileFetcher fetcher,
    IBlobStore blobs,
    UploadSource uploads,
    ITextExtractor extractor) : IConsumer<ScanFile>
{
    public async Task Consume(ConsumeContext<ScanFile> context)
    {
        var file = context.Message;
        var session = await db.Set<ScanSession>().AsNoTracking()
            .Where(s => s.Id == file.SessionId)
            .Select(s => new { s.Status, s.CodesJson, s.UploadsJson })
            .SingleOrDefaultAsync(context.CancellationToken);
        if (session is null || session.Status != ScanSessionStatus.Scanning)
            return;
        if (await db.Set<ScanFileResult>().AnyAsync(r => r.SessionId == file.SessionId && r.FileIndex == file.FileIndex, context.CancellationToken))
            return;

        var outcome = await ScanAsync(file, session.CodesJson, session.UploadsJson, context.CancellationToken);
        await recorder.RecordAsync(file, outcome, context.CancellationToken);
    }

    private async Task<ScanFileOutcome> ScanAsync(ScanFile file, string codesJson, string uploadsJson, CancellationToken cancellationToken)
    {
        var link = LinkOf(file);
        if (file.Error is { } known)
            return ScanFileOutcome.Failed(known, link);

        var content = await FetchAsync(file, ScanSessionJson.Read(uploadsJson), cancellationToken);
        if (content.Error is { } error)
            return ScanFileOutcome.Failed(error, link);

        var matcher = HoleCodeMatcher.Create(ScanSessionJson.Read(codesJson));
        var result = FileScan.Run(extractor, matcher, file.Name, content.Bytes, cancellationToken);
        return new ScanFileOutcome(result.Status, result.MatchedCodes, link, result.Error?.Message);
    }

    private async Task<(ReadOnlyMemory<byte> Bytes, string? Error)> FetchAsync(ScanFile file, IReadOnlyList<string> uploadKeys, CancellationToken cancellationToken)
    {
        ScanFileReference reference;
        switch (file.Kind)
        {
            case ScanFileKinds.Upload:
                if (!UploadLocator.TryParse(file.Locator, out var locator) || locator.UploadIndex >= uploadKeys.Count)
                    return (default, $"'{file.Locator}' does not name an uploaded file of this session.");
                if (locator.EntryIndex is { } entry)
                    return await ReadEntryAsync(uploadKeys[locator.UploadIndex], entry, cancellationToken);
                reference = new UploadedBlobReference(uploadKeys[locator.UploadIndex], file.Name);
                break;
            case ScanFileKinds.Drive:
                if (string.IsNullOrEmpty(file.DriveToken))
                    return (default, "A Google Drive file needs a Drive access token, and the session has none.");
                reference = new DriveFileReference(file.Locator, file.DriveToken);
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

    private async Task<(ReadOnlyMemory<byte> Bytes, string? Error)> ReadEntryAsync(string archiveKey, int entry, CancellationToken cancellationToken)
    {
        BlobContent blob;
        try
        {
            blob = await blobs.OpenReadAsync(archiveKey, cancellationToken);
        }
        catch (BlobNotFoundException)
        {
            return (default, "The uploaded archive is no longer in storage.");
        }

        await using (blob)
        {
            var archive = blob.Content;
            MemoryStream? buffered = null;
            if (!archive.CanSeek)
            {
                // ZIP needs its central directory at the end: a non-seekable store stream is buffered first.
                buffered = new MemoryStream();
                await archive.CopyToAsync(buffered, cancellationToken);
                buffered.Position = 0;
                archive = buffered;
            }

            using (buffered)
            {
                var read = uploads.ReadEntry(archive, entry);
                return read.Error is { } error ? (default, error.Message) : (read.Content, null);
            }
        }
    }

    private static string? LinkOf(ScanFile file) => file.Kind switch
    {
        ScanFileKinds.Drive => $"https://drive.google.com/file/d/{file.Locator}/view",
        ScanFileKinds.Url or ScanFileKinds.S3 => file.Locator,
        _ => null,
    };
}

/// <summary>A fetch that may succeed on a later attempt (timeout, throttling, 5xx).</summary>
public sealed class ScanFileUnavailableException(string message) : Exception(message);

/// <summary>Records a file whose every attempt failed as an Error, so the session still reaches its end.</summary>
public sealed class ScanFileFaultConsumer(ScanFileRecorder recorder) : IConsumer<Fault<ScanFile>>
{
    public async Task Consume(ConsumeContext<Fault<ScanFile>> context)
    {
        var reason = context.Message.Exceptions.FirstOrDefault()?.Message ?? "The file could not be scanned.";
        await recorder.RecordAsync(context.Message.Message, ScanFileOutcome.Failed($"The file could not be scanned: {reason}"), context.CancellationToken);
    }
}

public sealed class ScanFileConsumerDefinition : ConsumerDefinition<ScanFileConsumer>
{
    private readonly ScanSessionsOptions _options;

    public ScanFileConsumerDefinition(ScanSessionsOptions options)
    {
        _options = options;
        ConcurrentMessageLimit = options.FileConcurrency;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<ScanFileConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(SagaTransientErrors.IsTransient);
            retry.Exponential(10, TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(50));
        });
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
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(SagaTransientErrors.IsTransient);
            retry.Exponential(10, TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(50));
        });
}
