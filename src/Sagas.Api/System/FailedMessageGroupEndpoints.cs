using Microsoft.EntityFrameworkCore;
using Sagas.Api.BulkOperations;
using Sagas.Messaging.FailedMessages;
using Sagas.Modules.Api;
using Sagas.Modules.Runs;
using Sagas.Persistence;

namespace Sagas.Api.System;

/// <summary>
/// The unresolved failed messages grouped by queue and exception type (as ServicePulse groups them), and redelivering
/// a group or a list of ids in one call: <c>dryRun</c> counts, the real call needs <c>confirm</c> and an
/// <c>operationId</c> (the idempotency key) and only records a bulk operation; <see cref="FailedMessageRedeliveryKind"/>
/// sends the messages back in batches through the one-by-one path.
/// </summary>
public static class FailedMessageGroupEndpoints
{
    public const int MaxIds = 1000;
    public const int MaxGroups = 500;
    private const int MaxQueueLength = 300;
    private const int MaxExceptionTypeLength = 500;

    public static RouteGroupBuilder MapFailedMessageGroupEndpoints(this RouteGroupBuilder group)
    {
        group.MapGet("/failed-messages/groups", GroupsAsync)
            .WithName("ListFailedMessageGroups")
            .WithSummary("Failed messages not redelivered since their last fault, grouped by queue and exception type: count, first and last seen, the newest one's exception message; largest groups first.")
            .Produces<FailedMessageGroupList>().ProducesValidationProblem();
        group.MapPost("/failed-messages/redeliver", RedeliverAsync).Mutation()
            .WithName("RedeliverFailedMessages")
            .WithSummary("Redelivers a group (queue + exceptionType) or a list of ids: dryRun counts them; the real call needs confirm and an operationId (idempotency key) and runs in the background as a bulk operation.")
            .Produces<FailedMessageRedeliveryPreview>()
            .Produces<BulkOperationView>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return group;
    }

    private static async Task<IResult> GroupsAsync(SagasDbContext db, string? queue, CancellationToken cancellationToken)
    {
        if (queue is { Length: > MaxQueueLength })
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["queue"] = [$"queue is at most {MaxQueueLength} characters."] });

        var messages = db.Set<FailedMessage>().AsNoTracking();
        var unresolved = messages.Where(m => m.RedeliveredAt == null);
        if (!string.IsNullOrWhiteSpace(queue))
            unresolved = unresolved.Where(m => m.Queue == queue.Trim());
        // One statement: the aggregate reads the partial index alone, and only the groups returned look up their newest
        // row (one backward index step each).
        var rows = await unresolved
            .GroupBy(m => new { m.Queue, m.ExceptionType })
            .Select(g => new { g.Key.Queue, g.Key.ExceptionType, Count = g.Count(), FirstSeen = g.Min(m => m.FaultedAt), LastSeen = g.Max(m => m.FaultedAt) })
            .OrderByDescending(g => g.Count).ThenBy(g => g.Queue).ThenBy(g => g.ExceptionType)
            .Take(MaxGroups + 1)
            .Select(g => new FailedMessageGroupView(
                g.Queue,
                g.ExceptionType,
                g.Count,
                g.FirstSeen,
                g.LastSeen,
                messages.Where(m => m.RedeliveredAt == null && m.Queue == g.Queue && m.ExceptionType == g.ExceptionType)
                    .OrderByDescending(m => m.FaultedAt).Select(m => m.ExceptionMessage).FirstOrDefault() ?? ""))
            .ToListAsync(cancellationToken);
        return Results.Ok(new FailedMessageGroupList([.. rows.Take(MaxGroups)], rows.Count > MaxGroups));
    }

    private static async Task<IResult> RedeliverAsync(
        RedeliverFailedMessagesRequest? request, HttpContext http, SagasDbContext db, BulkOperationRunner runner, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (request is null)
            return Refused(new() { ["body"] = ["A JSON body with group or ids is required."] });

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request.Group is not null && request.Ids is not null)
            errors["ids"] = ["Send either group or ids, not both."];
        else if (request.Group is null && request.Ids is null)
            errors["group"] = ["Send group ({queue, exceptionType}, as GET /api/system/failed-messages/groups lists them) or ids (failed message ids)."];
        if (request.Group is { } group)
        {
            if (string.IsNullOrWhiteSpace(group.Queue))
                errors["group.queue"] = ["group.queue is required."];
            else if (group.Queue.Length > MaxQueueLength)
                errors["group.queue"] = [$"group.queue is at most {MaxQueueLength} characters."];
            if (string.IsNullOrWhiteSpace(group.ExceptionType))
                errors["group.exceptionType"] = ["group.exceptionType is required (the full type name, as the groups list shows it)."];
            else if (group.ExceptionType.Length > MaxExceptionTypeLength)
                errors["group.exceptionType"] = [$"group.exceptionType is at most {MaxExceptionTypeLength} characters."];
        }

        if (request.Ids is { Count: 0 })
            errors["ids"] = ["ids is empty: list at least one failed message id."];
        if (request.Ids is { Count: > MaxIds })
            errors["ids"] = [$"At most {MaxIds:N0} ids in one call; redeliver their group for more."];
        if (request.Reason is { Length: > 1000 })
            errors["reason"] = ["reason is at most 1,000 characters."];
        if (!request.DryRun)
        {
            if (!request.Confirm)
                errors["confirm"] = ["The real call needs confirm: true (preview the count with dryRun: true first)."];
            if (request.OperationId is null || request.OperationId == Guid.Empty)
                errors["operationId"] = ["operationId is required: a new GUID per operation, sent again unchanged on a retry, so a retry cannot redeliver twice."];
        }

        if (errors.Count > 0)
            return Refused(errors);

        if (!request.DryRun && await BulkOperationEndpoints.FindAsync(db, request.OperationId!.Value, cancellationToken) is { } existing)
        {
            return existing.Kind == BulkOperationKind.Redeliver
                ? Results.Ok(BulkOperationView.From(existing))
                : Results.Problem(
                    title: "operationId is taken",
                    detail: $"Operation {existing.Id} is a {existing.Kind} operation, not a redelivery; send a new operationId.",
                    statusCode: StatusCodes.Status409Conflict);
        }

        var scope = request.Group is { } key
            ? new FailedMessageRedeliveryScope(new FailedMessageGroupKey(key.Queue!.Trim(), key.ExceptionType!.Trim()), null)
            : new FailedMessageRedeliveryScope(null, [.. request.Ids!.Distinct()]);
        var alreadyRedelivered = 0;
        if (scope.Ids is { } ids)
        {
            var known = await db.Set<FailedMessage>().AsNoTracking().Where(m => ids.Contains(m.Id))
                .Select(m => new { m.Id, Redelivered = m.RedeliveredAt != null }).ToListAsync(cancellationToken);
            var unknown = ids.Except(known.Select(m => m.Id)).ToList();
            if (unknown.Count > 0)
            {
                return Refused(new()
                {
                    ["ids"] = [$"{unknown.Count:N0} of the ids name no failed message: {string.Join(", ", unknown.Take(10))}{(unknown.Count > 10 ? ", …" : "")}."],
                });
            }

            alreadyRedelivered = known.Count(m => m.Redelivered);
        }

        var now = clock.GetUtcNow();
        var count = await scope.Unresolved(db, now).CountAsync(cancellationToken);
        if (request.DryRun)
            return Results.Ok(new FailedMessageRedeliveryPreview(count, alreadyRedelivered));

        if (count == 0)
        {
            // Refused rather than recorded: an operation of nothing would read as done and say nothing useful.
            return Results.ValidationProblem(
                new Dictionary<string, string[]>
                {
                    [scope.Group is null ? "ids" : "group"] = [scope.Group is null
                        ? "Every listed message has already been redelivered (and has not failed again since): nothing to redeliver."
                        : "No failed message of this queue and exception type is waiting for redelivery: nothing to redeliver."],
                },
                title: "Nothing to redeliver",
                statusCode: StatusCodes.Status422UnprocessableEntity);
        }

        return await BulkOperationEndpoints.StartAsync(db, runner, http, request.OperationId!.Value, BulkOperationKind.Redeliver, scope, request.Reason, count, now,
            cancellationToken);
    }

    private static IResult Refused(Dictionary<string, string[]> errors) =>
        Results.ValidationProblem(errors, title: "The failed messages were not redelivered");
}

/// <param name="Group">A queue and exception type, as the groups list shows them.</param>
/// <param name="Ids">Or failed message ids, at most <see cref="FailedMessageGroupEndpoints.MaxIds"/>.</param>
/// <param name="DryRun">Only count what would be redelivered.</param>
/// <param name="Confirm">Must be true on the real call.</param>
/// <param name="OperationId">The idempotency key of the real call.</param>
public sealed record RedeliverFailedMessagesRequest(FailedMessageGroupKey? Group, IReadOnlyList<Guid>? Ids, bool DryRun, bool Confirm, Guid? OperationId, string? Reason);

public sealed record FailedMessageGroupKey(string? Queue, string? ExceptionType);

/// <param name="Count">Messages that would be redelivered: those not redelivered since their last fault.</param>
/// <param name="AlreadyRedelivered">Of the listed ids, those already sent back and not failed again (not counted).</param>
public sealed record FailedMessageRedeliveryPreview(int Count, int AlreadyRedelivered);

/// <param name="SampleMessage">The exception message of the group's newest failure.</param>
public sealed record FailedMessageGroupView(string Queue, string ExceptionType, int Count, DateTimeOffset FirstSeen, DateTimeOffset LastSeen, string SampleMessage);

/// <param name="Truncated">More than <see cref="FailedMessageGroupEndpoints.MaxGroups"/> groups: the smallest are left out.</param>
public sealed record FailedMessageGroupList(IReadOnlyList<FailedMessageGroupView> Groups, bool Truncated);

/// <summary>What a redelivery covers, as stored in <see cref="BulkOperation.Filter"/>: a group or ids, never both.</summary>
public sealed record FailedMessageRedeliveryScope(FailedMessageGroupKey? Group, IReadOnlyList<Guid>? Ids)
{
    /// <summary>
    /// The messages it redelivers: of the group or the list, not redelivered since their last fault, and faulted by the
    /// time the operation was accepted. A message this operation sends back and that fails again has a later fault time,
    /// so the same operation never takes it up twice.
    /// </summary>
    public IQueryable<FailedMessage> Unresolved(SagasDbContext db, DateTimeOffset acceptedAt)
    {
        var query = db.Set<FailedMessage>().Where(m => m.RedeliveredAt == null && m.FaultedAt <= acceptedAt);
        if (Group is { Queue: { } queue, ExceptionType: { } exceptionType })
            return query.Where(m => m.Queue == queue && m.ExceptionType == exceptionType);
        var ids = (Ids ?? []).ToList();
        return query.Where(m => ids.Contains(m.Id));
    }
}
