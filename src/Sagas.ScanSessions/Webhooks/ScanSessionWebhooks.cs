using MassTransit;
using Sagas.Contracts.ScanSessions;
using Sagas.Modules.Webhooks;

namespace Sagas.ScanSessions.Webhooks;

/// <summary>The public webhook events of scan sessions (docs/notifications.md): part of the webhook contract, never renamed.</summary>
public static class ScanSessionWebhooks
{
    public const string Completed = "scan-session.completed";

    public const string Failed = "scan-session.failed";

    public const string Cancelled = "scan-session.cancelled";
}

/// <summary>The <c>data</c> of <c>scan-session.completed</c>; the report is downloaded through the API.</summary>
public sealed record ScanSessionCompletedData(Guid SessionId, int TotalMatches, int TotalProcessed);

/// <summary>The <c>data</c> of <c>scan-session.failed</c>.</summary>
public sealed record ScanSessionFailedData(Guid SessionId, string Reason);

/// <summary>The <c>data</c> of <c>scan-session.cancelled</c>.</summary>
public sealed record ScanSessionCancelledData(Guid SessionId);

/// <summary>
/// Raises <c>scan-session.completed</c>, <c>scan-session.failed</c> and <c>scan-session.cancelled</c>: one of them per
/// session, because each comes from the event written with the row's final change.
/// </summary>
public sealed class ScanSessionWebhookEvents(IWebhookPublisher webhooks) :
    IConsumer<ScanSessionCompleted>,
    IConsumer<ScanSessionFailed>,
    IConsumer<ScanSessionCancelled>
{
    public Task Consume(ConsumeContext<ScanSessionCompleted> context)
    {
        var session = context.Message;
        return webhooks.PublishAsync(context, ScanSessionWebhooks.Completed, session.SessionId, webhooks.SentAt(context),
            new ScanSessionCompletedData(session.SessionId, session.TotalMatches, session.TotalProcessed));
    }

    public Task Consume(ConsumeContext<ScanSessionFailed> context)
    {
        var session = context.Message;
        return webhooks.PublishAsync(context, ScanSessionWebhooks.Failed, session.SessionId, webhooks.SentAt(context),
            new ScanSessionFailedData(session.SessionId, session.Reason));
    }

    public Task Consume(ConsumeContext<ScanSessionCancelled> context) =>
        webhooks.PublishAsync(context, ScanSessionWebhooks.Cancelled, context.Message.SessionId, webhooks.SentAt(context),
            new ScanSessionCancelledData(context.Message.SessionId));
}
