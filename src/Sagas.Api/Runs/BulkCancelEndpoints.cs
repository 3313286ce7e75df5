using Microsoft.EntityFrameworkCore;
using Sagas.Api.BulkOperations;
using Sagas.Modules;
using Sagas.Modules.Api;
using Sagas.Modules.Runs;
using Sagas.Persistence;

namespace Sagas.Api.Runs;

/// <summary>
/// <c>POST /api/runs/cancel</c>: cancels the listed runs or every run matching the run list's filter, in one call.
/// <c>dryRun</c> counts what would be cancelled; the real call needs <c>confirm</c> and an <c>operationId</c> (the
/// idempotency key: the same id again answers the operation it started, and starts nothing new). The call only records
/// the operation; <see cref="BulkOperationRunner"/> sends each workflow's own cancel command in batches.
/// </summary>
public static class BulkCancelEndpoints
{
    public const int MaxIds = 1000;

    public static RouteGroupBuilder MapBulkCancelEndpoints(this RouteGroupBuilder group)
    {
        group.MapPost("/cancel", CancelAsync).Mutation()
            .WithName("CancelRuns")
            .WithSummary("Cancels the listed runs (ids) or every run matching a filter (the run list's): dryRun counts them; the real call needs confirm and an operationId (idempotency key) and runs in the background.")
            .Produces<BulkCancelPreview>().Produces<BulkOperationView>(StatusCodes.Status202Accepted).ProducesValidationProblem();
        // The route bulk cancel started with; /api/bulk-operations/{id} reads every kind.
        group.MapGroup("/bulk-operations").MapGetBulkOperation("GetRunsBulkOperation");
        return group;
    }

    private static async Task<IResult> CancelAsync(
        BulkCancelRequest? request, HttpContext http, SagasDbContext db, WorkflowCatalog workflows, BulkOperationRunner runner, TimeProvider clock, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request is null)
            return Refused(new() { ["body"] = ["A JSON body with ids or filter is required."] });
        if (request.Ids is not null && request.Filter is not null)
            errors["ids"] = ["Send either ids or filter, not both."];
        else if (request.Ids is null && request.Filter is null)
            errors["filter"] = ["Send ids (the runs to cancel) or filter (as GET /api/runs takes it; {} for every run)."];
        if (request.Ids is { Count: 0 })
            errors["ids"] = ["ids is empty: list at least one run id."];
        if (request.Ids is { Count: > MaxIds })
            errors["ids"] = [$"At most {MaxIds:N0} ids in one call; use a filter for more."];
        if (request.Reason is { Length: > 1000 })
            errors["reason"] = ["reason is at most 1,000 characters."];
        var filter = RunFilter.Parse(workflows, request.Filter ?? new RunFilterValues(null, null, null, null, null, null), errors);
        if (filter is not null)
        {
            var named = !string.IsNullOrWhiteSpace(request.Filter?.Workflow);
            var without = filter.Modules.Where(m => m.Runs!.CancelCommand(Guid.Empty, null) is null).Select(m => m.Name).ToList();
            if (named && without.Count > 0)
                errors["filter.workflow"] = [$"{string.Join(", ", without)} runs cannot be cancelled: the workflow has no cancel command."];
        }

        if (!request.DryRun)
        {
            if (!request.Confirm)
                errors["confirm"] = ["The real call needs confirm: true (preview the count with dryRun: true first)."];
            if (request.OperationId is null || request.OperationId == Guid.Empty)
                errors["operationId"] = ["operationId is required: a new GUID per operation, sent again unchanged on a retry, so a retry cannot cancel twice."];
        }

        if (errors.Count > 0 || filter is null)
            return Refused(errors);

        if (!request.DryRun && await BulkOperationEndpoints.FindAsync(db, request.OperationId!.Value, cancellationToken) is { } existing)
            return Results.Ok(BulkOperationView.From(existing));

        var scope = new BulkCancelScope(request.Ids, request.Filter);
        var now = clock.GetUtcNow();
        var byWorkflow = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var module in filter.Modules.Where(m => m.Runs!.CancelCommand(Guid.Empty, null) is not null))
            byWorkflow[module.Name] = await scope.Query(filter, module.Runs!, db, now).CountAsync(cancellationToken);
        var count = byWorkflow.Values.Sum();
        var notCancellable = filter.Modules.Where(m => !byWorkflow.ContainsKey(m.Name)).Select(m => m.Name).ToList();

        if (request.DryRun || count == 0)
            return Results.Ok(new BulkCancelPreview(count, byWorkflow, notCancellable, request.DryRun ? null : "Nothing matched: no operation was started."));

        return await BulkOperationEndpoints.StartAsync(db, runner, http, request.OperationId!.Value, BulkOperationKind.Cancel, scope, request.Reason, count, now,
            cancellationToken, $"/api/runs/bulk-operations/{request.OperationId}");
    }

    private static IResult Refused(Dictionary<string, string[]> errors) =>
        Results.ValidationProblem(errors, title: "The runs were not cancelled");
}

/// <param name="Ids">The runs to cancel (of any workflow), at most <see cref="BulkCancelEndpoints.MaxIds"/>.</param>
/// <param name="Filter">Or every run the run list shows for this filter.</param>
/// <param name="DryRun">Only count what would be cancelled.</param>
/// <param name="Confirm">Must be true on the real call.</param>
/// <param name="OperationId">The idempotency key of the real call.</param>
public sealed record BulkCancelRequest(IReadOnlyList<Guid>? Ids, RunFilterValues? Filter, bool DryRun, bool Confirm, Guid? OperationId, string? Reason);

/// <param name="Count">Runs that would be (or, with a message, could have been) cancelled: those still cancellable.</param>
/// <param name="NotCancellable">Workflows the filter covers that have no cancel command (their runs are not counted).</param>
public sealed record BulkCancelPreview(int Count, IReadOnlyDictionary<string, int> ByWorkflow, IReadOnlyList<string> NotCancellable, string? Message);

/// <summary>What a bulk cancel covers, as stored in <see cref="BulkOperation.Filter"/>: the ids or the filter, never both.</summary>
public sealed record BulkCancelScope(IReadOnlyList<Guid>? Ids, RunFilterValues? Filter)
{
    /// <summary>
    /// The module's runs this operation cancels: matching, still cancellable, and created by the time the operation was
    /// accepted (runs started later are not what the caller counted).
    /// </summary>
    public IQueryable<RunRow> Query(RunFilter filter, WorkflowRuns runs, SagasDbContext db, DateTimeOffset acceptedAt)
    {
        var cancellable = runs.CancellableStatuses.ToList();
        var query = filter.Apply(runs, db).Where(r => cancellable.Contains(r.Status) && r.CreatedAt <= acceptedAt);
        if (Ids is { } ids)
        {
            var list = ids.ToList();
            query = query.Where(r => list.Contains(r.Id));
        }

        return query;
    }
}
