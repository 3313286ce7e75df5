using System.Net.Mime;
using MassTransit;
using MassTransit.Serialization;
using Microsoft.EntityFrameworkCore;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;

namespace Sagas.Messaging.FailedMessages;

public enum RedeliveryOutcome
{
    Redelivered,
    NotFound,
    AlreadyRedelivered,
}

public sealed record RedeliveryResult(RedeliveryOutcome Outcome, FailedMessage? Message);

/// <summary>
/// Sends a recorded failed message back to the queue it failed on, byte for byte as it was received, with its
/// message id and kept headers. The row is claimed before sending (a conditional update), so two concurrent requests
/// send it once; if the send fails the claim is undone. The copy in the <c>_error</c> queue stays where it is.
/// </summary>
public sealed class FailedMessageRedeliverer(SagasDbContext db, ISendEndpointProvider sendEndpoints, TimeProvider clock)
{
    /// <summary>Marks the copy, so a consumer or an operator can tell a redelivery from the first delivery.</summary>
    public const string RedeliveredFromHeader = "Sagas-Redelivered-From";

    public async Task<RedeliveryResult> RedeliverAsync(Guid id, CancellationToken cancellationToken)
    {
        var messages = db.Set<FailedMessage>();
        var message = await messages.AsNoTracking().SingleOrDefaultAsync(m => m.Id == id, cancellationToken);
        if (message is null)
            return new RedeliveryResult(RedeliveryOutcome.NotFound, null);

        // Whole microseconds, as PostgreSQL stores them, so the undo below matches the claim it wrote.
        var now = clock.GetUtcNow();
        var claimedAt = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
        var claimed = await messages.Where(m => m.Id == id && m.RedeliveredAt == null)
            .ExecuteUpdateAsync(set => set.SetProperty(m => m.RedeliveredAt, claimedAt).SetProperty(m => m.RedeliveryCount, m => m.RedeliveryCount + 1), cancellationToken);
        if (claimed == 0)
            return new RedeliveryResult(RedeliveryOutcome.AlreadyRedelivered, await messages.AsNoTracking().SingleOrDefaultAsync(m => m.Id == id, cancellationToken));

        try
        {
            await SendAsync(message, cancellationToken);
        }
        catch
        {
            // Not sent: give the row back so it can be redelivered again (CancellationToken.None: the caller may be gone).
            await messages.Where(m => m.Id == id && m.RedeliveredAt == claimedAt)
                .ExecuteUpdateAsync(set => set.SetProperty(m => m.RedeliveredAt, (DateTimeOffset?)null).SetProperty(m => m.RedeliveryCount, m => m.RedeliveryCount - 1), CancellationToken.None);
            throw;
        }

        message.RedeliveredAt = claimedAt;
        message.RedeliveryCount++;
        return new RedeliveryResult(RedeliveryOutcome.Redelivered, message);
    }

    private async Task SendAsync(FailedMessage message, CancellationToken cancellationToken)
    {
        if (message.Queue == OutboxDispatcher.Queue)
        {
            await ReturnToOutboxAsync(message, cancellationToken);
            return;
        }

        var endpoint = await sendEndpoints.GetSendEndpoint(new Uri($"queue:{message.Queue}"));
        var contentType = new ContentType(message.ContentType);
        var headers = RedeliveryHeaders.Read(message.Headers);
        // The placeholder only gives the send a type: the copy serializer puts the stored bytes on the wire instead.
        await endpoint.Send(new FailedMessageRedelivery(message.Id), context =>
        {
            context.Serializer = new CopyBodySerializer(contentType, new BytesMessageBody(message.Body));
            context.ContentType = contentType;
            context.MessageId = message.MessageId;
            foreach (var (name, value) in headers)
                context.Headers.Set(name, value);
            context.Headers.Set(RedeliveredFromHeader, message.Id.ToString("D"));
        }, cancellationToken);
    }

    /// <summary>
    /// A row the outbox dispatcher set aside goes back into the outbox as it was (same message id, type name and body):
    /// a build that knows the type publishes it; one that still cannot read it sets it aside again on this row.
    /// </summary>
    private async Task ReturnToOutboxAsync(FailedMessage message, CancellationToken cancellationToken)
    {
        db.Set<OutboxMessage>().Add(new OutboxMessage
        {
            MessageId = message.MessageId,
            MessageType = message.MessageTypes,
            Body = System.Text.Encoding.UTF8.GetString(message.Body),
            CreatedAt = clock.GetUtcNow(),
        });
        await db.SaveChangesAsync(cancellationToken);
        db.ChangeTracker.Clear();
    }
}

/// <summary>Never on the wire as such (see <see cref="FailedMessageRedeliverer"/>).</summary>
public sealed record FailedMessageRedelivery(Guid FailedMessageId);
