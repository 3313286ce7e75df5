using Amazon.SQS.Model;
using MassTransit;
using MassTransit.Transports;
using Sagas.Transports.AmazonSqs.Configuration;

namespace Sagas.Transports.AmazonSqs.Receiving;

/// <summary>One received SQS message as MassTransit's receive pipe sees it.</summary>
internal sealed class SqsReceiveContext : BaseReceiveContext
{
    public SqsReceiveContext(Message message, SqsReceiveEndpointContext endpoint, SqsReceiveLock receiveLock)
        : base(IsRedelivered(message), endpoint, receiveLock)
    {
        var attributes = (message.MessageAttributes ?? []).Where(a => a.Value.StringValue is not null).ToDictionary(a => a.Key, a => a.Value.StringValue, StringComparer.Ordinal);
        Body = new BytesMessageBody(SqsMessage.BodyOf(message.Body ?? "", attributes));
        HeaderProvider = new DictionaryHeaderProvider(SqsMessage.HeadersOf(attributes));
    }

    public override MessageBody Body { get; }

    protected override IHeaderProvider HeaderProvider { get; }

    private static bool IsRedelivered(Message message) =>
        message.Attributes is not null
        && message.Attributes.TryGetValue("ApproximateReceiveCount", out var count)
        && int.TryParse(count, out var received)
        && received > 1;
}
