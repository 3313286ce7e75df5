using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Sagas.Modules.Runs;
using Sagas.Persistence;

namespace Sagas.Api.BulkOperations;

/// <summary>
/// <c>GET /api/bulk-operations/{id}</c>: any bulk operation (a cancel of runs, a redelivery of failed messages) with
/// who started it, when, what it covers and how far it got. <c>/api/runs/bulk-operations/{id}</c> answers the same.
/// </summary>
public static class BulkOperationEndpoints
{
    public static IEndpointRouteBuilder MapBulkOperationEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGroup("/api/bulk-operations").WithTags("Bulk operations").MapGetBulkOperation("GetBulkOperation");
        return endpoints;
    }

    public static RouteGroupBuilder MapGetBulkOperation(this RouteGroupBuilder group, string name)
    {
        group.MapGet("/{id}", GetAsync)
            .WithName(name)
            .WithSummary("A bulk operation: its kind, who started it and when, its filter or group, and its progress (done and skipped of total, status).")
            .Produces<BulkOperationView>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    public static string Location(Guid id) => $"/api/bulk-operations/{id}";

    /// <summary>The caller as the API's authentication named it (the API key's name; <c>local-developer</c> on loopback).</summary>
    public static string Caller(HttpContext http) =>
        http.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? (name.Length <= 200 ? name : name[..200]) : "anonymous";

    /// <summary>The operation an idempotency key already names, or null.</summary>
    public static Task<BulkOperation?> FindAsync(SagasDbContext db, Guid id, CancellationToken cancellationToken) =>
        db.Set<BulkOperation>().AsNoTracking().SingleOrDefaultAsync(o => o.Id == id, cancellationToken);

    /// <summary>
    /// Records a new operation; the same operation id sent twice at once lands on one row, and both calls answer it.
    /// Null when <paramref name="operation"/> was recorded by this call.
    /// </summary>
    public static async Task<BulkOperation?> RecordAsync(SagasDbContext db, BulkOperation operation, CancellationToken cancellationToken)
    {
        db.Add(operation);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return null;
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            return await FindAsync(db, operation.Id, cancellationToken) ?? throw new InvalidOperationException($"Bulk operation {operation.Id} could not be recorded, yet no row holds it.");
        }
    }

    /// <summary>
    /// The common tail of every bulk route: records the operation (by <paramref name="operationId"/>, its idempotency
    /// key), wakes the runner and answers 202. A call that raced another with the same id answers the operation that
    /// won, 200, and starts nothing.
    /// </summary>
    /// <param name="scope">What the operation covers, stored as JSON in <see cref="BulkOperation.Filter"/>.</param>
    /// <param name="location">The route that reads it back; <see cref="Location"/> by default.</param>
    public static async Task<IResult> StartAsync<TScope>(
        SagasDbContext db, BulkOperationRunner runner, HttpContext http, Guid operationId, string kind, TScope scope, string? reason, int total,
        DateTimeOffset createdAt, CancellationToken cancellationToken, string? location = null)
    {
        var operation = new BulkOperation
        {
            Id = operationId,
            Kind = kind,
            RequestedBy = Caller(http),
            CreatedAt = createdAt,
            Filter = JsonSerializer.Serialize(scope, BulkOperationView.Json),
            Reason = reason,
            Total = total,
        };
        if (await RecordAsync(db, operation, cancellationToken) is { } raced)
            return Results.Ok(BulkOperationView.From(raced));

        runner.Wake();
        return Results.Accepted(location ?? Location(operation.Id), BulkOperationView.From(operation));
    }

    private static async Task<IResult> GetAsync(string id, SagasDbContext db, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var operationId))
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["id"] = ["id must be an operation id (a GUID)."] });
        var operation = await FindAsync(db, operationId, cancellationToken);
        return operation is null
            ? Results.Problem(title: "No such bulk operation", detail: $"No bulk operation has the id {operationId}.", statusCode: StatusCodes.Status404NotFound)
            : Results.Ok(BulkOperationView.From(operation));
    }
}

/// <param name="Filter">What the operation covers, as stored: a run filter or ids (cancel), a group or ids (redeliver).</param>
/// <param name="Done">Items the runner has taken up: runs whose cancel command was sent, failed messages redelivered or skipped.</param>
/// <param name="Skipped">Of those, items left alone because another action had already handled them (a redelivery by someone else).</param>
/// <param name="Error">Why it failed, or, while it is running, why its last batch stalled (it is tried again after its lease).</param>
public sealed record BulkOperationView(
    Guid OperationId, string Kind, string RequestedBy, DateTimeOffset CreatedAt, JsonElement Filter, string? Reason,
    int Total, int Done, int Skipped, string Status, DateTimeOffset? FinishedAt, string? Error)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static BulkOperationView From(BulkOperation operation) =>
        new(operation.Id, operation.Kind, operation.RequestedBy, operation.CreatedAt, JsonSerializer.Deserialize<JsonElement>(operation.Filter),
            operation.Reason, operation.Total, operation.Done, operation.Skipped, operation.Status, operation.FinishedAt, operation.Error);
}
