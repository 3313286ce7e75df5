using Amazon.Runtime;
using MassTransit;

namespace Sagas.Transports.AmazonSqs;

/// <summary>
/// An AWS call of the transport failed. The message names the action, the queue or topic and AWS's error code, and
/// is what readiness shows for a faulted endpoint; it is transient, so the endpoint keeps retrying with back-off.
/// </summary>
public sealed class SqsTransportException : ConnectionException
{
    public SqsTransportException(string message)
        : base(message, isTransient: true)
    {
    }

    public SqsTransportException(string message, Exception innerException)
        : base(message, innerException, isTransient: true)
    {
    }

    internal static SqsTransportException Refused(AmazonServiceException exception, string service, string action, string resource) =>
        new($"Amazon {service} refused {action} for {resource} ({Code(exception)}): {exception.Message}", exception);

    internal static string Code(AmazonServiceException exception) =>
        string.IsNullOrEmpty(exception.ErrorCode) ? $"HTTP {(int)exception.StatusCode}" : exception.ErrorCode;
}

/// <summary>
/// Something already exists in AWS in a shape the transport does not create (a queue attribute, a subscription without
/// raw delivery). Never retried: it needs a person to change the setting or the resource.
/// </summary>
public sealed class SqsTopologyConflictException(string message) : ConnectionException(message, isTransient: false);

/// <summary>The message is larger than Amazon SQS and SNS accept; nothing of it was sent.</summary>
public sealed class SqsMessageTooLargeException(string message) : MassTransitException(message);
