using System.Security.Cryptography;
using System.Globalization;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.ScanSessions;
using Sagas.Messaging;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.Fetching;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Ocr;
using Sagas.ScanSessions.Sources;

namespace Sagas.ScanSessions.Consumers;

/// <summary>
/// What a file worker (role <c>scan-files</c>, scale it out) does with a batch of one or more sessions' files, however
/// they arrived (a dispatcher's <see cref="ScanFileChunk"/> or <c>ScanFile</c> messages taken as a batch): skips files
/// already recorded and files of sessions no longer scanning, fetches, extracts and matches the rest in parallel, then
/// counts the whole batch in one transaction through <see cref="ScanFileRecorder"/>. Whatever goes wrong with one file
/// stays that file's: a poison file (its scan throws) and a file that cannot be fetched (gone, refused, unreachable)
/// become its Error row, the second with one warning in the log. A transient fetch failure (timeout, 5xx, throttling, a
/// dropped connection, after the fetcher's own retries) is not recorded: that file alone is sent again as a
/// <c>ScanFile</c> after <see cref="ScanSessionsOptions.FileRetryDelay"/> (doubling), up to
/// <see cref="ScanSessionsOptions.FileRetryLimit"/> times, and then recorded as an Error. A batch never fails for a
/// file: a failed message is retried and, once its retries are spent, faults, and a batch's other files would fill the
/// failed-messages list and the error log although they were counted. Only a database that stays away fails a batch;
/// <see cref="ScanFileFaultConsumer"/> then records what is left as Errors, so a session always completes.
/// </summary>
public sealed class FileBatchScanner(
    SagasDbContext db,
    ScanFileRecorder recorder,
    IScanFileFetcher fetcher,
    ScanArchiveCache archives,
    SessionMatchers matchers,
    ScanSessionsOptions options,
    ITextExtractor extractor,
    OcrReader ocr,
    ScanSessionSecrets secrets,
    ILogger<FileBatchScanner> logger)
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(1);

    public async Task ScanAsync(IEnumerable<ScanFile> files, ConsumeContext context)
    {
        var cancellationToken = context.CancellationToken;
        var pending = new List<ScanFile>();
        var sessions = new Dictionary<Guid, SessionScan>();
        foreach (var group in files.GroupBy(f => f.SessionId))
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
            var (matcher, ocrMatcher) = matchers.For(group.Key, session.CodesJson);
            sessions[group.Key] = new SessionScan(
                matcher,
                ocrMatcher,
                ScanSessionJson.Read(session.UploadsJson),
                todo.Any(f => f.Kind == ScanFileKinds.Drive) ? await ReadDriveTokenAsync(group.Key, cancellationToken) : null);
        }

        if (pending.Count == 0)
            return;

        var scanned = new ScannedFile?[pending.Count];
        var unavailable = new string?[pending.Count];
        var unfetched = new string?[pending.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, pending.Count),
            new ParallelOptions { MaxDegreeOfParallelism = options.FileConcurrency, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                var file = pending[i];
                try
                {
                    var scan = await ScanAsync(file, sessions[file.SessionId], token);
                    scanned[i] = new ScannedFile(file, scan.Outcome);
                    unfetched[i] = scan.FetchProblem;
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

        var retries = new List<(ScanFile File, string Reason)>();
        for (var i = 0; i < pending.Count; i++)
        {
            if (unavailable[i] is not { } reason)
                continue;
            var file = pending[i];
            if (file.Attempt < options.FileRetryLimit)
            {
                retries.Add((file, reason));
                continue;
            }

            unfetched[i] = reason;
            scanned[i] = new ScannedFile(file, ScanFileOutcome.Failed(
                string.Create(CultureInfo.InvariantCulture, $"{reason} (gave up after {file.Attempt + 1} attempts)"), LinkOf(file)));
        }

        await recorder.RecordBatchAsync([.. scanned.OfType<ScannedFile>()], cancellationToken);

        for (var i = 0; i < pending.Count; i++)
        {
            if (unfetched[i] is { } problem)
            {
                logger.LogWarning(
                    "Scan session {SessionId}: file {FileIndex} '{FileName}' could not be fetched; recorded as an Error: {Reason}",
                    pending[i].SessionId, pending[i].FileIndex, pending[i].Name, problem);
            }
        }

        // After the batch is counted: a copy sent before a failed commit would only be skipped as recorded, but one
        // sent after it would be the only attempt left for a file whose first try is lost with the batch.
        foreach (var (file, reason) in retries)
        {
            var delay = RetryDelay(file.Attempt);
            logger.LogInformation(
                "Scan session {SessionId}: file {FileIndex} '{FileName}' is unavailable for now; attempt {Attempt} of {Attempts} in {Delay}: {Reason}",
                file.SessionId, file.FileIndex, file.Name, file.Attempt + 2, options.FileRetryLimit + 1, delay, reason);
            await context.SchedulePublish(delay, file with { Attempt = file.Attempt + 1 }, cancellationToken);
        }
    }

    private TimeSpan RetryDelay(int attempt)
    {
        var delay = options.FileRetryDelay * Math.Pow(2, Math.Min(attempt, 16));
        return delay > MaxRetryDelay ? MaxRetryDelay : delay;
    }

    private async Task<FileScanResult> ScanAsync(ScanFile file, SessionScan session, CancellationToken cancellationToken)
    {
        var link = LinkOf(file);
        if (file.Error is { } known)
            return new FileScanResult(ScanFileOutcome.Failed(known, link), null);

        var content = await FetchAsync(file, session, cancellationToken);
        if (content.Error is { } error)
            return new FileScanResult(ScanFileOutcome.Failed(error, link), error);

        var result = await FileScan.RunAsync(extractor, ocr, session.Matcher, session.OcrMatcher, file.Name, content.Bytes, cancellationToken);
        return new FileScanResult(
            new ScanFileOutcome(result.Status, result.MatchedCodes, link, result.Error?.Message)
            {
                OcrMatches = result.OcrMatches,
                OcrPages = result.OcrPages,
                OcrTime = result.OcrTime,
            },
            null);
    }

    /// <param name="FetchProblem">Why the file's bytes could not be had, when that is why it is an Error.</param>
    private sealed record FileScanResult(ScanFileOutcome Outcome, string? FetchProblem);

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

    private sealed record SessionScan(HoleCodeMatcher Matcher, HoleCodeMatcher OcrMatcher, IReadOnlyList<string> UploadKeys, DriveTokenRead? Drive)
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

/// <summary>A fetch that may succeed on a later attempt (timeout, throttling, 5xx, a dropped connection).</summary>
public sealed class ScanFileUnavailableException(string message) : Exception(message);
