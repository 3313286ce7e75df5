using System.Globalization;
using System.Text;
using MassTransit;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Sagas.Core.Configuration;
using Sagas.Contracts.ScanSessions;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.Fetching;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Sources;
using Sagas.Storage;
using Sagas.Storage.Blobs;

namespace Sagas.ScanSessions.Api;

/// <summary>A file received by the API, not yet stored.</summary>
public sealed record IncomingFile(string Name, Stream Content, long Length, string ContentType);

/// <summary>What a caller asked to scan, before anything is stored; exactly one source is expected.</summary>
public sealed class ScanSessionSubmission
{
    public List<string?>? Codes { get; init; }

    public List<IncomingFile> Files { get; init; } = [];

    public IncomingFile? Manifest { get; init; }

    public byte[]? FileContent { get; init; }

    public string? FileContentName { get; init; }

    public string? S3Prefix { get; init; }

    public List<string?>? Urls { get; init; }

    /// <summary>Stored encrypted for the file workers until the session ends; never logged, never in a message.</summary>
    public string? DriveToken { get; init; }

    public string? RequestedBy { get; init; }
}

/// <summary>Why a submission was refused: a field and a message, and 413 for sizes, 400 otherwise.</summary>
public sealed record ScanSubmissionError(string Field, string Message, int StatusCode = StatusCodes.Status400BadRequest);

/// <summary>
/// Starts a session for the HTTP route and the WebSocket's <c>start_scan</c> alike: validates the codes and the
/// source, stores every upload in the blob store, then writes the session row (so the session is visible at once) and
/// <see cref="StartScanSession"/> to the transactional outbox in one commit: the command leaves when the row exists and
/// the row never exists without its command (an API dying between the two used to orphan a row in <c>dispatching</c>).
/// A crash before the commit leaves only unreferenced blobs. The Drive token is committed with the row, encrypted
/// (<see cref="ScanSessionSecrets"/>), and travels in no message.
/// </summary>
public sealed class ScanSessionStarter(
    IBlobStore blobs,
    SagasDbContext db,
    OutboxWriter outbox,
    ScanSessionSecrets secrets,
    ScanFilesOptions fileOptions,
    ScanFetchingOptions fetchOptions,
    IOptions<StorageOptions> storage,
    ScanSessionApiOptions apiOptions,
    TimeProvider clock)
{
    public const string UploadPrefix = "scan-uploads";

    /// <summary>The refusal of a body over the upload limit, which names the limit and what to send instead.</summary>
    public static ScanSubmissionError UploadTooLarge(ScanFilesOptions fileOptions) => new(
        "files",
        Invariant($"The upload is larger than the limit of {fileOptions.MaxUploadBytes} bytes (ScanSessions:Files:MaxUploadBytes). Split it into several sessions, or give an S3 prefix or a manifest of URLs."),
        StatusCodes.Status413PayloadTooLarge);

    public async Task<(Guid? SessionId, ScanSubmissionError? Error)> StartAsync(ScanSessionSubmission submission, CancellationToken cancellationToken, Action<Guid>? beforePublish = null)
    {
        if (Validate(submission) is { } error)
            return (null, error);

        var codes = HoleCodeList.Distinct(submission.Codes!, fileOptions.HoleCodeLimits);
        var sessionId = NewId.NextGuid();
        var (source, description) = await StoreSourceAsync(sessionId, submission, cancellationToken);

        var now = clock.GetUtcNow();
        db.Add(new ScanSession
        {
            Id = sessionId,
            Status = ScanSessionStatus.Dispatching,
            CreatedAt = now,
            RequestedBy = Clip(submission.RequestedBy, 200),
            SourceDescription = Clip(description, 1000)!,
            CodesJson = global::System.Text.Json.JsonSerializer.Serialize(codes),
        });
        if (!string.IsNullOrWhiteSpace(submission.DriveToken))
            secrets.AddDriveToken(sessionId, submission.DriveToken.Trim());
        outbox.Add(new StartScanSession(sessionId, source, codes, submission.RequestedBy));
        await db.SaveChangesAsync(cancellationToken);

        // Before the dispatcher is woken: the caller's STARTED and subscription precede every event of the session.
        beforePublish?.Invoke(sessionId);
        outbox.Flush();
        return (sessionId, null);
    }

    private ScanSubmissionError? Validate(ScanSessionSubmission submission)
    {
        if (HoleCodeList.Validate(submission.Codes, fileOptions.HoleCodeLimits) is { } codeError)
            return new ScanSubmissionError("targetHoleCodes", codeError);

        var sources = new[]
        {
            submission.Files.Count > 0,
            submission.Manifest is not null,
            submission.FileContent is not null,
            !string.IsNullOrWhiteSpace(submission.S3Prefix),
            submission.Urls is { Count: > 0 },
        }.Count(given => given);
        if (sources == 0)
            return new ScanSubmissionError("source", "Give the files to scan: uploaded files or a ZIP, a manifest, file content (base64), an S3 prefix or URLs.");
        if (sources > 1)
            return new ScanSubmissionError("source", "Give exactly one source: uploaded files, a manifest, file content, an S3 prefix or URLs.");

        if (submission.Files.Count > apiOptions.MaxFilesPerUpload)
            return new ScanSubmissionError("files", Invariant($"At most {apiOptions.MaxFilesPerUpload} files per upload; zip them to send more."));
        var total = submission.Files.Sum(f => f.Length) + (submission.Manifest?.Length ?? 0) + (submission.FileContent?.LongLength ?? 0);
        if (total > fileOptions.MaxUploadBytes)
            return new ScanSubmissionError("files", Invariant($"The upload is {total} bytes; at most {fileOptions.MaxUploadBytes} are accepted (ScanSessions:Files:MaxUploadBytes)."), StatusCodes.Status413PayloadTooLarge);
        if (submission.Files.Any(f => f.Length == 0) || submission.Manifest is { Length: 0 } || submission.FileContent is { Length: 0 })
            return new ScanSubmissionError("files", "An uploaded file is empty.");
        if (FileOverTheLimit(submission) is { } tooLarge)
            return tooLarge;

        if (!string.IsNullOrWhiteSpace(submission.S3Prefix))
        {
            if (!S3Prefix.TryParse(submission.S3Prefix.Trim(), out var prefix, out var s3Error))
                return new ScanSubmissionError("s3Prefix", s3Error);
            if (!fetchOptions.IsBucketAllowed(prefix.Bucket))
                return new ScanSubmissionError("s3Prefix", $"The bucket '{prefix.Bucket}' is not among ScanSessions:Fetching:AllowedS3Buckets.");
            // Otherwise the session would be accepted and fail when the dispatcher first asks S3.
            if (OptionsValidation.Validate(storage.Value.S3, $"{StorageOptions.SectionName}:{nameof(StorageOptions.S3)}") is { Count: > 0 } problems)
                return new ScanSubmissionError("s3Prefix", "S3 is not configured here, so an S3 prefix cannot be scanned: " + string.Join(" ", problems));
        }

        if (submission.Urls is { Count: > 0 } urls)
        {
            if (urls.Count > fileOptions.MaxManifestRows)
                return new ScanSubmissionError("urls", Invariant($"At most {fileOptions.MaxManifestRows} URLs per session."));
            for (var index = 0; index < urls.Count; index++)
            {
                if (!Uri.TryCreate(urls[index]?.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                    || urls[index]!.Any(c => char.IsControl(c) || c is ',' or '"'))
                    return new ScanSubmissionError(Invariant($"urls[{index}]"), "Each URL must be an absolute http(s) URL without commas or quotes.");
            }
        }

        return null;
    }

    /// <summary>
    /// A single file (not an archive: its entries are checked when listed) that the file worker would refuse as too
    /// large, refused now instead of stored and failed later.
    /// </summary>
    private ScanSubmissionError? FileOverTheLimit(ScanSessionSubmission submission)
    {
        var (limit, key) = fetchOptions.MaxFileBytes < fileOptions.MaxFileBytes
            ? (fetchOptions.MaxFileBytes, $"{ScanFetchingOptions.SectionName}:{nameof(ScanFetchingOptions.MaxFileBytes)}")
            : (fileOptions.MaxFileBytes, $"{ScanFilesOptions.SectionName}:{nameof(ScanFilesOptions.MaxFileBytes)}");
        var files = submission.Files.Select(f => (f.Name, f.Length, f.Content));
        if (submission.FileContent is { } content)
            files = files.Append((submission.FileContentName ?? "file_content", content.LongLength, new MemoryStream(content, writable: false)));
        foreach (var (name, length, stream) in files)
        {
            if (length <= limit || !stream.CanSeek || IsArchive(name, stream))
                continue;
            return new ScanSubmissionError(
                "files",
                Invariant($"'{name}' is {length} bytes; a single file may be at most {limit} ({key}). Larger drawings cannot be scanned."),
                StatusCodes.Status413PayloadTooLarge);
        }

        return null;
    }

    private static bool IsArchive(string name, Stream content)
    {
        var start = content.Position;
        try
        {
            return UploadSource.IsArchive(name, content);
        }
        finally
        {
            content.Position = start;
        }
    }

    private async Task<(ScanSource Source, string Description)> StoreSourceAsync(Guid sessionId, ScanSessionSubmission submission, CancellationToken cancellationToken)
    {
        var folder = $"{UploadPrefix}/{sessionId:N}";
        if (submission.Files.Count > 0)
        {
            var uploads = new List<ScanUpload>(submission.Files.Count);
            for (var index = 0; index < submission.Files.Count; index++)
            {
                var file = submission.Files[index];
                // The key is ours; the user's file name travels beside it and never becomes a path.
                var key = Invariant($"{folder}/upload-{index:D5}");
                await blobs.PutAsync(key, file.Content, file.ContentType, cancellationToken);
                uploads.Add(new ScanUpload(key, file.Name));
            }

            return (new ScanSource(Uploads: uploads), uploads.Count == 1 ? $"upload {uploads[0].Name}" : Invariant($"{uploads.Count} uploads"));
        }

        if (submission.Manifest is { } manifest)
        {
            var key = $"{folder}/manifest";
            await blobs.PutAsync(key, manifest.Content, manifest.ContentType, cancellationToken);
            return (new ScanSource(ManifestBlobKey: key, ManifestName: manifest.Name), $"manifest {manifest.Name}");
        }

        if (submission.FileContent is { } content)
        {
            var key = $"{folder}/file-content";
            await blobs.PutAsync(key, new MemoryStream(content, writable: false), "application/octet-stream", cancellationToken);
            return (new ScanSource(FileContentBlobKey: key, FileContentName: submission.FileContentName), "file_content");
        }

        if (submission.Urls is { Count: > 0 } urls)
        {
            // A list of URLs is a manifest without names: written as one, it goes through the same reader and fetchers.
            var csv = new StringBuilder("name,url\n");
            foreach (var url in urls)
            {
                var uri = new Uri(url!.Trim());
                var name = Path.GetFileName(uri.AbsolutePath);
                csv.Append(string.IsNullOrEmpty(name) ? uri.Host : name.Replace(",", "_", StringComparison.Ordinal)).Append(',').Append(uri.AbsoluteUri).Append('\n');
            }

            var key = $"{folder}/urls.csv";
            await blobs.PutAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString())), "text/csv", cancellationToken);
            return (new ScanSource(ManifestBlobKey: key, ManifestName: "urls.csv"), Invariant($"{urls.Count} URLs"));
        }

        var prefix = submission.S3Prefix!.Trim();
        return (new ScanSource(S3Prefix: prefix), prefix);
    }

    private static string? Clip(string? text, int length) => text is null || text.Length <= length ? text : text[..length];

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
