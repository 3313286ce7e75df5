using System.Text.RegularExpressions;
using Polly.Timeout;
using Sagas.Storage.Content;

namespace Sagas.ScanSessions.Fetching.GoogleDrive;

/// <summary>
/// Fetches one Drive file for a scan: metadata first (name, type, size, link), then the bytes, or a PDF export for
/// Google Docs Editors files. Every expected problem comes back as a <see cref="FetchFailure"/>; only cancellation of
/// <paramref name="cancellationToken"/> escapes as an exception.
/// </summary>
public sealed partial class GoogleDriveClient(IGoogleDriveApi api, GoogleDriveOptions options)
{
    private const int MaxErrorBodyBytes = 64 * 1024;

    private static readonly HashSet<string> ExportableTypes = new(StringComparer.Ordinal)
    {
        DriveFileMetadata.GoogleAppsPrefix + "document",
        DriveFileMetadata.GoogleAppsPrefix + "spreadsheet",
        DriveFileMetadata.GoogleAppsPrefix + "presentation",
        DriveFileMetadata.GoogleAppsPrefix + "drawing",
    };

    public static bool IsValidFileId(string? fileId) => fileId is not null && FileIdPattern().IsMatch(fileId);

    public async Task<FetchResult<DriveFileMetadata>> GetMetadataAsync(string fileId, string accessToken, CancellationToken cancellationToken = default)
    {
        if (Check(fileId, accessToken) is { } invalid)
            return invalid;

        try
        {
            using var response = await api.GetMetadataAsync(fileId, accessToken, cancellationToken);
            if (response.IsSuccessStatusCode && response.Content is { } metadata)
                return metadata;
            if (response.IsSuccessStatusCode)
                return new FetchFailure(FetchFailureKind.Failed, $"Google Drive sent unreadable metadata for file {fileId}.");
            if (response.StatusCode is not { } status)
            {
                // Refit reports transport failures of IApiResponse calls as an error without a status.
                cancellationToken.ThrowIfCancellationRequested();
                return Transport(fileId, Unwrap(response.Error), cancellationToken)
                    ?? new FetchFailure(FetchFailureKind.Unavailable, $"Google Drive sent no response for file {fileId}.", Retryable: true);
            }
            return DriveErrors.Map(fileId, status, (response.Error as Refit.ApiException)?.Content);
        }
        catch (Exception exception) when (Transport(fileId, Unwrap(exception), cancellationToken) is { } failure)
        {
            return failure;
        }
    }

    public async Task<FetchResult<FetchedFile>> DownloadAsync(string fileId, string accessToken, CancellationToken cancellationToken = default)
    {
        var lookup = await GetMetadataAsync(fileId, accessToken, cancellationToken);
        if (lookup.Value is not { } metadata)
            return lookup.Failure!;

        var name = string.IsNullOrWhiteSpace(metadata.Name) ? fileId : metadata.Name;
        string contentType;
        HttpResponseMessage response;
        try
        {
            if (metadata.IsGoogleNative)
            {
                if (!options.ExportGoogleDocuments || !ExportableTypes.Contains(metadata.MimeType!))
                    return new FetchFailure(FetchFailureKind.Unsupported, $"'{name}' is a {Describe(metadata.MimeType!)}, which has no file content to scan.");
                contentType = options.ExportMimeType;
                name = ExportName(name, contentType);
                response = await api.ExportAsync(fileId, options.ExportMimeType, accessToken, cancellationToken);
            }
            else
            {
                if (metadata.SizeBytes > options.MaxDownloadBytes)
                    return TooLarge(name);
                response = await api.DownloadAsync(fileId, accessToken, cancellationToken);
                contentType = metadata.MimeType ?? response.Content.Headers.ContentType?.MediaType ?? "application/octet-stream";
            }
        }
        catch (Exception exception) when (Transport(fileId, Unwrap(exception), cancellationToken) is { } failure)
        {
            return failure;
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
                return DriveErrors.Map(fileId, response.StatusCode, await ReadErrorBodyAsync(response, cancellationToken));

            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                var (buffer, length) = await BoundedContent.ReadAsync(body, options.MaxDownloadBytes, response.Content.Headers.ContentLength, cancellationToken);
                return new FetchedFile(name, contentType, buffer, length, metadata.WebViewLink);
            }
            catch (ContentTooLargeException)
            {
                return TooLarge(name);
            }
            catch (Exception exception) when (Transport(fileId, Unwrap(exception), cancellationToken) is { } failure)
            {
                return failure;
            }
        }
    }

    private FetchFailure TooLarge(string name) =>
        new(FetchFailureKind.TooLarge, $"'{name}' is larger than the download limit of {BoundedContent.Describe(options.MaxDownloadBytes)}.");

    private static FetchFailure? Check(string fileId, string accessToken)
    {
        if (!IsValidFileId(fileId))
            return new FetchFailure(FetchFailureKind.InvalidReference, $"'{Truncate(fileId)}' is not a Google Drive file id.");
        if (string.IsNullOrWhiteSpace(accessToken))
            return new FetchFailure(FetchFailureKind.Unauthorized, "No Google Drive access token was given for this file.");
        return null;
    }

    /// <summary>Failures below HTTP: what is left after the resilience pipeline's retries gave up.</summary>
    private static FetchFailure? Transport(string fileId, Exception? exception, CancellationToken cancellationToken) => exception switch
    {
        OperationCanceledException when cancellationToken.IsCancellationRequested => null,
        TimeoutRejectedException or TaskCanceledException => new FetchFailure(FetchFailureKind.Timeout, $"Google Drive did not answer in time for file {fileId}.", Retryable: true),
        HttpRequestException or IOException => new FetchFailure(FetchFailureKind.Unavailable, $"Google Drive could not be reached for file {fileId}: {exception.Message}", Retryable: true),
        _ => null,
    };

    private static Exception? Unwrap(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is TimeoutRejectedException or HttpRequestException or IOException or OperationCanceledException)
                return current;
        }

        return exception;
    }

    private static async Task<string?> ReadErrorBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var (buffer, length) = await BoundedContent.ReadAsync(stream, MaxErrorBodyBytes, null, cancellationToken);
            return System.Text.Encoding.UTF8.GetString(buffer, 0, length);
        }
        catch (Exception exception) when (exception is ContentTooLargeException or HttpRequestException or IOException)
        {
            return null;
        }
    }

    private static string ExportName(string name, string contentType)
    {
        var extension = contentType switch
        {
            "application/pdf" => ".pdf",
            "text/plain" => ".txt",
            "text/csv" => ".csv",
            _ => "",
        };
        return extension.Length == 0 || name.EndsWith(extension, StringComparison.OrdinalIgnoreCase) ? name : name + extension;
    }

    private static string Describe(string mimeType) => mimeType[DriveFileMetadata.GoogleAppsPrefix.Length..] switch
    {
        "folder" => "Drive folder",
        "shortcut" => "Drive shortcut",
        "form" => "Google Form",
        "site" => "Google Site",
        "map" => "Google My Map",
        "document" or "spreadsheet" or "presentation" or "drawing" => "Google Docs Editors file (export is switched off)",
        var other => $"Google {other} item",
    };

    private static string Truncate(string? value) => value is null ? "" : value.Length <= 80 ? value : value[..80] + "…";

    [GeneratedRegex("^[A-Za-z0-9_-]{1,200}$")]
    private static partial Regex FileIdPattern();
}
