using Amazon.S3;
using Amazon.S3.Model;
using Sagas.Core.Configuration;
using Sagas.ScanSessions.Fetching.GoogleDrive;
using Sagas.Storage.Blobs;
using Sagas.Storage.Content;
using Sagas.Storage.S3;

namespace Sagas.ScanSessions.Fetching;

public sealed class ScanFileFetcher(
    IBlobStore blobs,
    GoogleDriveClient drive,
    UrlFileFetcher urls,
    S3ClientFactory s3,
    ScanFetchingOptions options,
    BlobReadRetry retry) : IScanFileFetcher
{
    public async Task<FetchResult<FetchedFile>> FetchAsync(ScanFileReference reference, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        try
        {
            return reference switch
            {
                UploadedBlobReference blob => await FetchBlobAsync(blob, timeout.Token),
                DriveFileReference file => await drive.DownloadAsync(file.FileId, file.AccessToken, timeout.Token),
                UrlReference url => await urls.FetchAsync(url.Address, timeout.Token),
                S3ObjectReference item => await FetchS3ObjectAsync(item, timeout.Token),
                _ => new FetchFailure(FetchFailureKind.InvalidReference, $"Unknown file reference {reference.GetType().Name}."),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new FetchFailure(FetchFailureKind.Timeout, $"Fetching {Describe(reference)} took longer than {options.Timeout.TotalSeconds:0.#} s.", Retryable: true);
        }
    }

    private async Task<FetchResult<FetchedFile>> FetchBlobAsync(UploadedBlobReference reference, CancellationToken cancellationToken)
    {
        if (!BlobKey.IsValid(reference.Key, out var error))
            return new FetchFailure(FetchFailureKind.InvalidReference, $"The uploaded file key is invalid: {error}.");

        try
        {
            return await retry.ExecuteAsync<FetchResult<FetchedFile>>(
                async token =>
                {
                    await using var blob = await blobs.OpenReadAsync(reference.Key, token);
                    var (buffer, length) = await BoundedContent.ReadAsync(blob.Content, options.MaxFileBytes, blob.Length, token);
                    var name = reference.FileName ?? reference.Key[(reference.Key.LastIndexOf('/') + 1)..];
                    return new FetchedFile(name, blob.ContentType, buffer, length);
                },
                cancellationToken);
        }
        catch (BlobNotFoundException)
        {
            return new FetchFailure(FetchFailureKind.NotFound, $"The uploaded file '{reference.FileName ?? reference.Key}' is no longer in storage.");
        }
        catch (ContentTooLargeException)
        {
            return TooLarge(reference.FileName ?? reference.Key);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && BlobErrors.IsTransient(exception))
        {
            return new FetchFailure(FetchFailureKind.Unavailable, $"The uploaded file '{reference.FileName ?? reference.Key}' could not be read from storage for now: {exception.Message}", Retryable: true);
        }
    }

    private async Task<FetchResult<FetchedFile>> FetchS3ObjectAsync(S3ObjectReference reference, CancellationToken cancellationToken)
    {
        if (!options.IsBucketAllowed(reference.Bucket))
            return new FetchFailure(FetchFailureKind.Forbidden, $"Scanning bucket '{reference.Bucket}' is not allowed here (ScanSessions:Fetching:AllowedS3Buckets).");
        if (string.IsNullOrEmpty(reference.Key) || reference.Key.Length > 1024)
            return new FetchFailure(FetchFailureKind.InvalidReference, "The S3 object key is empty or too long.");

        try
        {
            using var response = await s3.GetClient().GetObjectAsync(new GetObjectRequest { BucketName = reference.Bucket, Key = reference.Key }, cancellationToken);
            var (buffer, length) = await BoundedContent.ReadAsync(response.ResponseStream, options.MaxFileBytes, response.ContentLength, cancellationToken);
            var name = reference.Key[(reference.Key.LastIndexOf('/') + 1)..];
            return new FetchedFile(name, response.Headers.ContentType ?? "application/octet-stream", buffer, length, reference.ToString());
        }
        catch (ContentTooLargeException)
        {
            return TooLarge(reference.ToString());
        }
        catch (SagasConfigurationException exception)
        {
            return new FetchFailure(FetchFailureKind.Failed, $"S3 is not configured: {exception.Message}");
        }
        catch (AmazonS3Exception exception)
        {
            return S3Errors.Map(reference.ToString(), exception);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && BlobErrors.IsTransient(exception))
        {
            // A connection dropped while the object was read: the SDK retries requests, not a body cut half way.
            return new FetchFailure(FetchFailureKind.Unavailable, $"Reading {reference} was interrupted: {exception.Message}", Retryable: true);
        }
    }

    private FetchFailure TooLarge(string what) =>
        new(FetchFailureKind.TooLarge, $"'{what}' is larger than the limit of {BoundedContent.Describe(options.MaxFileBytes)}.");

    private static string Describe(ScanFileReference reference) => reference switch
    {
        UploadedBlobReference blob => $"'{blob.FileName ?? blob.Key}'",
        DriveFileReference file => $"Drive file {file.FileId}",
        UrlReference url => url.Address.GetLeftPart(UriPartial.Path),
        _ => reference.ToString(),
    };
}
