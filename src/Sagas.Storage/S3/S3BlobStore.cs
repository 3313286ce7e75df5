using System.Net;
using System.Runtime.CompilerServices;
using Amazon.S3;
using Amazon.S3.Model;
using Sagas.Storage.Blobs;

namespace Sagas.Storage.S3;

/// <summary>Blobs as objects in one bucket, optionally under a key prefix; download links are presigned GET URLs.</summary>
public sealed class S3BlobStore : IBlobStore
{
    private readonly S3ClientFactory _clients;
    private readonly string _bucket;
    private readonly string _keyPrefix;
    private readonly TimeProvider _timeProvider;

    public S3BlobStore(S3ClientFactory clients, string bucket, string? keyPrefix, TimeProvider timeProvider)
    {
        _clients = clients;
        _bucket = bucket;
        _keyPrefix = string.IsNullOrEmpty(keyPrefix) ? "" : keyPrefix.TrimEnd('/') + "/";
        _timeProvider = timeProvider;
    }

    public string Bucket => _bucket;

    private IAmazonS3 Client => _clients.GetClient();

    /// <summary>
    /// S3 parts other than the last must be at least 5 MiB; a stream that cannot tell its length is sent in parts of
    /// this size, so one part is all that is ever held in memory.
    /// </summary>
    internal const int PartBytes = 8 * 1024 * 1024;

    public async Task PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        contentType = string.IsNullOrWhiteSpace(contentType) ? "application/octet-stream" : contentType;
        if (content.CanSeek)
        {
            // The SDK sends a seekable stream as it is, reading it as it goes.
            await PutWholeAsync(key, content, contentType, cancellationToken);
            return;
        }

        // A forward-only stream (a request body): the SDK needs a length it cannot have, so it goes in bounded parts.
        var first = new byte[PartBytes];
        var length = await content.ReadAtLeastAsync(first, PartBytes, throwOnEndOfStream: false, cancellationToken);
        if (length < PartBytes)
        {
            await PutWholeAsync(key, new MemoryStream(first, 0, length, writable: false), contentType, cancellationToken);
            return;
        }

        await PutInPartsAsync(key, content, contentType, first, cancellationToken);
    }

    private Task PutWholeAsync(string key, Stream content, string contentType, CancellationToken cancellationToken) =>
        Client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _bucket,
            Key = ObjectKey(key),
            InputStream = content,
            AutoCloseStream = false,
            ContentType = contentType,
        }, cancellationToken);

    private async Task PutInPartsAsync(string key, Stream content, string contentType, byte[] buffer, CancellationToken cancellationToken)
    {
        var objectKey = ObjectKey(key);
        var upload = await Client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _bucket, Key = objectKey, ContentType = contentType }, cancellationToken);
        try
        {
            var parts = new List<PartETag>();
            var length = buffer.Length;
            while (length > 0)
            {
                var part = await Client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _bucket,
                    Key = objectKey,
                    UploadId = upload.UploadId,
                    PartNumber = parts.Count + 1,
                    PartSize = length,
                    InputStream = new MemoryStream(buffer, 0, length, writable: false),
                }, cancellationToken);
                parts.Add(new PartETag(parts.Count + 1, part.ETag));
                length = await content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            }

            await Client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = _bucket, Key = objectKey, UploadId = upload.UploadId, PartETags = parts }, cancellationToken);
        }
        catch
        {
            // Parts of an upload never completed are billed until aborted; readers never see them.
            await Client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _bucket, Key = objectKey, UploadId = upload.UploadId }, CancellationToken.None);
            throw;
        }
    }

    public async Task<BlobContent> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await Client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = ObjectKey(key) }, cancellationToken);
            return new BlobContent(response.ResponseStream, response.Headers.ContentType ?? "application/octet-stream", response.ContentLength);
        }
        catch (AmazonS3Exception exception) when (exception.StatusCode == HttpStatusCode.NotFound)
        {
            throw new BlobNotFoundException(key);
        }
    }

    public async Task<BlobContent> OpenReadRangeAsync(string key, long offset, long length, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0)
            return new BlobContent(Stream.Null, "application/octet-stream", 0);

        try
        {
            var response = await Client.GetObjectAsync(new GetObjectRequest
            {
                BucketName = _bucket,
                Key = ObjectKey(key),
                ByteRange = new ByteRange(offset, offset + length - 1),
            }, cancellationToken);
            return new BlobContent(response.ResponseStream, response.Headers.ContentType ?? "application/octet-stream", response.ContentLength, TotalOf(response.ContentRange));
        }
        catch (AmazonS3Exception exception) when (exception.StatusCode == HttpStatusCode.NotFound)
        {
            throw new BlobNotFoundException(key);
        }
        catch (AmazonS3Exception exception) when (exception.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // A range that starts at or past the end: nothing of it exists, as a local read past the end gives.
            return new BlobContent(Stream.Null, "application/octet-stream", 0);
        }
    }

    public async Task<long> GetLengthAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            var metadata = await Client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = ObjectKey(key) }, cancellationToken);
            return metadata.ContentLength;
        }
        catch (AmazonS3Exception exception) when (exception.StatusCode == HttpStatusCode.NotFound)
        {
            throw new BlobNotFoundException(key);
        }
    }

    /// <summary>The total of a <c>Content-Range: bytes 0-99/1234</c> answer.</summary>
    private static long? TotalOf(string? contentRange)
    {
        var slash = contentRange?.LastIndexOf('/') ?? -1;
        return slash >= 0 && long.TryParse(contentRange.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var total) ? total : null;
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            await Client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = ObjectKey(key) }, cancellationToken);
            return true;
        }
        catch (AmazonS3Exception exception) when (exception.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default) =>
        await Client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = ObjectKey(key) }, cancellationToken);

    public async IAsyncEnumerable<BlobItem> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        prefix = BlobKey.ValidatePrefix(prefix);
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = _keyPrefix + prefix };
        do
        {
            var response = await Client.ListObjectsV2Async(request, cancellationToken);
            // AWSSDK v4 leaves empty collections null.
            foreach (var item in response.S3Objects ?? [])
            {
                var key = item.Key[_keyPrefix.Length..];
                if (BlobKey.IsValid(key, out _))
                    yield return new BlobItem(key, item.Size ?? 0);
            }

            request.ContinuationToken = response.IsTruncated == true ? response.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);
    }

    public async Task<Uri> GetDownloadLinkAsync(string key, string fileName, TimeSpan? expiresIn = null, CancellationToken cancellationToken = default)
    {
        var name = DownloadFileName.Sanitize(fileName, key[(key.LastIndexOf('/') + 1)..]);
        var request = new GetPreSignedUrlRequest
        {
            BucketName = _bucket,
            Key = ObjectKey(key),
            Verb = HttpVerb.GET,
            Expires = _timeProvider.GetUtcNow().Add(BlobLinks.Resolve(expiresIn)).UtcDateTime,
            Protocol = _clients.PresignWithHttp ? Protocol.HTTP : Protocol.HTTPS,
        };
        request.ResponseHeaderOverrides.ContentDisposition = ContentDisposition(name);
        return new Uri(await Client.GetPreSignedURLAsync(request));
    }

    internal static string ContentDisposition(string fileName)
    {
        var ascii = new string(fileName.Select(c => c is >= ' ' and < (char)127 ? c : '_').ToArray());
        return $"attachment; filename=\"{ascii}\"; filename*=UTF-8''{Uri.EscapeDataString(fileName)}";
    }

    private string ObjectKey(string key) => _keyPrefix + BlobKey.Validate(key);
}
