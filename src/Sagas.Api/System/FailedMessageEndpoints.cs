using Microsoft.EntityFrameworkCore;
using Sagas.Messaging.FailedMessages;
using Sagas.Modules.Api;
using Sagas.Persistence;

namespace Sagas.Api.System;

/// <summary>The messages that ended in an <c>_error</c> queue, and sending one back (docs/reliability.md).</summary>
public static class FailedMessageEndpoints
{
    private const int MaxQueueLength = 300;

    public static RouteGroupBuilder MapFailedMessageEndpoints(this RouteGroupBuilder group)
    {
        group.MapGet("/failed-messages", ListAsync)
            .WithName("ListFailedMessages")
            .WithSummary("Messages whose retries ran out and that were moved to an _error queue, newest first, optionally of one queue.")
            .Produces<PageOf<FailedMessageView>>().ProducesValidationProblem();
        group.MapPost("/failed-messages/{id:guid}/redeliver", RedeliverAsync).Mutation()
            .WithName("RedeliverFailedMessage")
            .WithSummary("Sends a failed message back to the queue it failed on, as it was received; the copy in the _error queue stays.")
            .Produces<FailedMessageView>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return group;
    }

    private static async Task<IResult> ListAsync(SagasDbContext db, string? queue, int? page, int? pageSize, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (queue is { Length: > MaxQueueLength })
            errors["queue"] = [$"queue is at most {MaxQueueLength} characters."];
        if (!Paging.TryCreate(page, pageSize, errors, out var paging) || errors.Count > 0)
            return Results.ValidationProblem(errors);

        var query = db.Set<FailedMessage>().AsNoTracking();
        if (!string.IsNullOrWhiteSpace(queue))
            query = query.Where(m => m.Queue == queue.Trim());
        var total = await query.CountAsync(cancellationToken);
        var rows = await query.OrderByDescending(m => m.FaultedAt).ThenBy(m => m.Id)
            .Skip(paging.Skip).Take(paging.PageSize)
            .Select(FailedMessageView.Projection)
            .ToListAsync(cancellationToken);
        return Results.Ok(new PageOf<FailedMessageView>([.. rows.Select(r => r.ToView())], paging.Page, paging.PageSize, total));
    }

    private static async Task<IResult> RedeliverAsync(Guid id, FailedMessageRedeliverer redeliverer, ILoggerFactory logs, CancellationToken cancellationToken)
    {
        RedeliveryResult result;
        try
        {
            result = await redeliverer.RedeliverAsync(id, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logs.CreateLogger(typeof(FailedMessageEndpoints)).LogError(exception, "Redelivering failed message {FailedMessageId} failed", id);
            return Results.Problem(
                title: "The message could not be sent",
                detail: "The broker did not take the message back; it is still marked as not redelivered and can be tried again.",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return result.Outcome switch
        {
            RedeliveryOutcome.Redelivered => Results.Ok(FailedMessageView.From(result.Message!)),
            RedeliveryOutcome.AlreadyRedelivered => Results.Problem(
                title: "Already redelivered",
                detail: $"Failed message {id} was sent back to its queue at {result.Message?.RedeliveredAt:O}. If it fails there again it is listed again and can be redelivered then.",
                statusCode: StatusCodes.Status409Conflict),
            _ => Results.Problem(
                title: "Unknown failed message",
                detail: $"No failed message has id {id}. GET /api/system/failed-messages lists them.",
                statusCode: StatusCodes.Status404NotFound),
        };
    }
}

/// <summary>A failed message without its body (which can be large and is the sender's business), with its size.</summary>
public sealed record FailedMessageView(
    Guid Id,
    Guid MessageId,
    IReadOnlyList<string> MessageTypes,
    string Queue,
    string ExceptionType,
    string ExceptionMessage,
    string? StackTrace,
    DateTimeOffset FaultedAt,
    string ContentType,
    int BodyBytes,
    DateTimeOffset? RedeliveredAt,
    int RedeliveryCount)
{
    internal static readonly global::System.Linq.Expressions.Expression<Func<FailedMessage, FailedMessageRow>> Projection = m => new FailedMessageRow(
        m.Id, m.MessageId, m.MessageTypes, m.Queue, m.ExceptionType, m.ExceptionMessage, m.StackTrace, m.FaultedAt, m.ContentType, m.Body.Length, m.RedeliveredAt, m.RedeliveryCount);

    public static FailedMessageView From(FailedMessage m) => new FailedMessageRow(
        m.Id, m.MessageId, m.MessageTypes, m.Queue, m.ExceptionType, m.ExceptionMessage, m.StackTrace, m.FaultedAt, m.ContentType, m.Body.Length, m.RedeliveredAt, m.RedeliveryCount).ToView();
}

/// <summary>The columns the list reads: the body's length is computed by the database, the body itself never loaded.</summary>
internal sealed record FailedMessageRow(
    Guid Id, Guid MessageId, string MessageTypes, string Queue, string ExceptionType, string ExceptionMessage, string? StackTrace,
    DateTimeOffset FaultedAt, string ContentType, int BodyBytes, DateTimeOffset? RedeliveredAt, int RedeliveryCount)
{
    public FailedMessageView ToView() => new(
        Id, MessageId, MessageTypes.Split(',', StringSplitOptions.RemoveEmptyEntries), Queue, ExceptionType, ExceptionMessage, StackTrace,
        FaultedAt, ContentType, BodyBytes, RedeliveredAt, RedeliveryCount);
}
