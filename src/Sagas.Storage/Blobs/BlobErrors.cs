using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;

namespace Sagas.Storage.Blobs;

/// <summary>Which blob store failures a new attempt can cure; the one place every reader of the store asks.</summary>
public static class BlobErrors
{
    /// <summary>
    /// Timeouts, throttling, 5xx answers and dropped connections (S3 or a network share under the local store). Not a
    /// missing blob, denied access or a bad request: those fail the same way on every attempt.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        BlobNotFoundException => false,
        FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException => false,
        AmazonServiceException service => IsTransient(service),
        // The SDK's own failures before an answer: connection refused or reset, DNS, a read that timed out.
        AmazonClientException => true,
        HttpRequestException or SocketException or TimeoutException => true,
        IOException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsTransient),
        _ => exception.InnerException is { } inner && IsTransient(inner),
    };

    private static bool IsTransient(AmazonServiceException exception) =>
        exception.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or >= HttpStatusCode.InternalServerError
        || exception.ErrorCode is "SlowDown" or "RequestTimeout" or "Throttling" or "ThrottlingException" or "RequestTimeTooSkewed" or "InternalError" or "ServiceUnavailable"
        || exception.InnerException is { } inner && IsTransient(inner);
}
