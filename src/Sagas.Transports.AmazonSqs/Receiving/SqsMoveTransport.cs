using MassTransit;
using MassTransit.Transports;

namespace Sagas.Transports.AmazonSqs.Receiving;

/// <summary>
/// Moves a message to <c>{queue}_error</c> (retries ran out) or <c>{queue}_skipped</c> (nobody consumes its type), as
/// MassTransit does on RabbitMQ: the body byte for byte, with the fault or the reason as transport headers. The
/// original is deleted only after the copy was sent, so a failed move leaves the message where it was.
/// </summary>
internal sealed class SqsMoveTransport(SqsBroker broker, string queueName) : IErrorTransport, IDeadLetterTransport
{
    public Task Send(ExceptionReceiveContext context)
    {
        var headers = Headers(context);
        foreach (var (name, value) in context.ExceptionHeaders.GetAll())
            headers[name] = value;
        return MoveAsync(context, queueName + SqsNames.ErrorSuffix, headers);
    }

    public Task Send(ReceiveContext context, string reason)
    {
        var headers = Headers(context);
        headers[MessageHeaders.Reason] = reason;
        return MoveAsync(context, queueName + SqsNames.SkippedSuffix, headers);
    }

    private static Dictionary<string, object> Headers(ReceiveContext context) =>
        context.TransportHeaders.GetAll()
            .Where(h => h.Key is not SqsMessage.ContentTypeAttribute and not SqsMessage.MessageIdAttribute)
            .ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase);

    private Task MoveAsync(ReceiveContext context, string destination, Dictionary<string, object> headers)
    {
        var message = SqsMessage.Create(
            context.Body.GetBytes(),
            context.ContentType?.ToString(),
            context.GetMessageId(),
            headers,
            delaySeconds: 0,
            $"{context.GetMessageId()} moved to {destination}");
        return broker.SendAsync(destination, message, context.CancellationToken);
    }
}
