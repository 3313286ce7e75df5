using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using Sagas.Core.Configuration;
using Sagas.Storage.Content;
using Sagas.Storage.S3;

namespace Sagas.ScanSessions.Fetching;

public sealed record S3Prefix(string Bucket, string Prefix)
{
    public override string ToString() => $"s3://{Bucket}/{Prefix}";

    /// <summary>Parses <c>s3://bucket/prefix</c> (the prefix may be empty: the whole bucket).</summary>
    public static bool TryParse(string? value, out S3Prefix location, out string error)
    {
        location = new S3Prefix("", "");
        error = "";
        const string scheme = "s3://";
        if (value is null || !value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            error = "An S3 source must look like s3://bucket/prefix.";
            return false;
        }

        var rest = value[scheme.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..];
        // S3 bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens.
        if (bucket.Length is < 3 or > 63 || !bucket.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-'))
        {
            error = $"'{bucket}' is not a valid S3 bucket name.";
            return false;
        }

        if (prefix.Length > 1024 || prefix.Any(char.IsControl))
        {
            error = "The S3 prefix is too long or contains control characters.";
            return false;
        }

        location = new S3Prefix(bucket, prefix);
        return true;
    }
}

public sealed record ListedS3Object(S3ObjectReference Reference, long Size);

/// <summary>Expands "scan everything under s3://bucket/prefix" into one reference per object, bounded in count.</summary>
public sealed class S3PrefixLister(S3ClientFactory clients, ScanFetchingOptions options)
{
    public async Task<FetchResult<IReadOnlyList<ListedS3Object>>> ListAsync(S3Prefix location, CancellationToken cancellationToken = default)
    {
        if (!options.IsBucketAllowed(location.Bucket))
            return new FetchFailure(FetchFailureKind.Forbidden, $"Scanning bucket '{location.Bucket}' is not allowed here (ScanSessions:Fetching:AllowedS3Buckets).");

        var objects = new List<ListedS3Object>();
        var request = new ListObjectsV2Request { BucketName = location.Bucket, Prefix = location.Prefix };
        try
        {
            var client = clients.GetClient();
            do
            {
                var response = await client.ListObjectsV2Async(request, cancellationToken);
                foreach (var item in response.S3Objects ?? [])
                {
                    // Zero-byte keys ending in '/' are the folder markers consoles create, not files.
                    if (item.Key.EndsWith('/'))
                        continue;
                    if (objects.Count == options.MaxS3Objects)
                        return new FetchFailure(FetchFailureKind.TooLarge, $"{location} holds more than {options.MaxS3Objects} objects; choose a narrower prefix.");
                    objects.Add(new ListedS3Object(new S3ObjectReference(location.Bucket, item.Key), item.Size ?? 0));
                }

                request.ContinuationToken = response.IsTruncated == true ? response.NextContinuationToken : null;
            }
            while (request.ContinuationToken is not null);
        }
        catch (SagasConfigurationException exception)
        {
            return new FetchFailure(FetchFailureKind.Failed, $"S3 is not configured: {exception.Message}");
        }
        catch (AmazonS3Exception exception)
        {
            return S3Errors.Map(location.ToString(), exception);
        }

        return objects;
    }
}

internal static class S3Errors
{
    public static FetchFailure Map(string what, AmazonS3Exception exception) => exception switch
    {
        { StatusCode: HttpStatusCode.NotFound } => new FetchFailure(FetchFailureKind.NotFound, $"{what} was not found ({exception.ErrorCode})."),
        { StatusCode: HttpStatusCode.Forbidden } => new FetchFailure(FetchFailureKind.Forbidden, $"No access to {what} ({exception.ErrorCode})."),
        { StatusCode: HttpStatusCode.TooManyRequests } or { ErrorCode: "SlowDown" } =>
            new FetchFailure(FetchFailureKind.RateLimited, $"S3 is throttling requests for {what}.", Retryable: true),
        { StatusCode: >= HttpStatusCode.InternalServerError } =>
            new FetchFailure(FetchFailureKind.Unavailable, $"S3 failed reading {what} ({exception.ErrorCode}).", Retryable: true),
        _ => new FetchFailure(FetchFailureKind.Failed, $"S3 refused {what}: {exception.ErrorCode} {exception.Message}"),
    };
}
