using Microsoft.EntityFrameworkCore;
using Sagas.Persistence;

namespace Sagas.Messaging.FailedMessages;

/// <summary>What the error pipe saw of one message whose retries ran out.</summary>
public sealed record FailedMessageFault(
    Guid MessageId,
    IReadOnlyList<string> MessageTypes,
    string Queue,
    string ExceptionType,
    string ExceptionMessage,
    string? StackTrace,
    DateTimeOffset FaultedAt,
    byte[] Body,
    string ContentType,
    string Headers);

/// <summary>Writes a fault to <c>failed_messages</c>, one row per message id and queue however often it is told.</summary>
public sealed class FailedMessageRecorder(SagasDbContext db)
{
    public async Task<Guid> RecordAsync(FailedMessageFault fault, CancellationToken cancellationToken)
    {
        var row = await FindAsync(fault, cancellationToken);
        if (row is null)
        {
            row = new FailedMessage { Id = MassTransit.NewId.NextGuid(), MessageId = fault.MessageId, Queue = fault.Queue };
            Apply(row, fault);
            db.Add(row);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return row.Id;
            }
            catch (DbUpdateException)
            {
                // Another consumer of the same queue recorded the same message first (the unique index said so):
                // fall through and update its row instead.
                db.ChangeTracker.Clear();
                row = await FindAsync(fault, cancellationToken) ?? throw new InvalidOperationException(
                    $"Recording failed message {fault.MessageId} on '{fault.Queue}' conflicted, yet no row holds it.");
            }
        }

        Apply(row, fault);
        await db.SaveChangesAsync(cancellationToken);
        return row.Id;
    }

    private Task<FailedMessage?> FindAsync(FailedMessageFault fault, CancellationToken cancellationToken) =>
        db.Set<FailedMessage>().SingleOrDefaultAsync(m => m.MessageId == fault.MessageId && m.Queue == fault.Queue, cancellationToken);

    private static void Apply(FailedMessage row, FailedMessageFault fault)
    {
        row.MessageTypes = Clip(string.Join(',', fault.MessageTypes), 2_000);
        row.ExceptionType = Clip(fault.ExceptionType, 500);
        row.ExceptionMessage = Clip(fault.ExceptionMessage, FailedMessage.MaxExceptionMessageLength);
        row.StackTrace = fault.StackTrace is null ? null : Clip(fault.StackTrace, FailedMessage.MaxStackTraceLength);
        row.FaultedAt = fault.FaultedAt;
        row.Body = fault.Body;
        row.ContentType = Clip(fault.ContentType, 200);
        row.Headers = fault.Headers;
        // It failed again after being sent back: it needs attention again.
        row.RedeliveredAt = null;
    }

    private static string Clip(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
