using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Sagas.Messaging.SagaHistory;
using Sagas.Modules;
using Sagas.Modules.Api;
using Sagas.Modules.Runs;
using Sagas.Persistence;

namespace Sagas.Api.Runs;

/// <summary>
/// The runs of every workflow in one list, and one run's history: routes over what each module describes
/// (<see cref="IWorkflowModule.Runs"/>), naming none.
/// </summary>
public static class RunEndpoints
{
    public static IEndpointRouteBuilder MapRunEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/runs").WithTags("Runs");
        group.MapGet("/", ListAsync)
            .WithName("ListRuns")
            .WithSummary("Runs of every workflow, newest first, by workflow, status, project, creation time (from, to) and text (id, title, file name, prompt); paged by cursor.")
            .Produces<RunPage>().ProducesValidationProblem();
        group.MapGet("/workflows", (WorkflowCatalog workflows) => Results.Ok(
                workflows.Modules.Where(m => m.Runs is not null).Select(m => new RunWorkflow(m.Name, m.Runs!.Statuses)).ToList()))
            .WithName("ListRunWorkflows")
            .WithSummary("The workflows the run list covers and the statuses of each (the list's filter values).")
            .Produces<IReadOnlyList<RunWorkflow>>();
        group.MapGet("/{workflow}/{id}/history", HistoryAsync)
            .WithName("GetRunHistory")
            .WithSummary("One run's saga history (each event, state before and after, time, message id, faults) and its consumer activity per minute.")
            .Produces<RunHistory>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapBulkCancelEndpoints();
        return endpoints;
    }

    private static async Task<IResult> HistoryAsync(string workflow, string id, SagasDbContext db, WorkflowCatalog workflows, CancellationToken cancellationToken)
    {
        if (RunFilter.Find(workflows, workflow) is not { Runs: { } runs } module)
            return UnknownWorkflow(workflows, workflow);
        if (!Guid.TryParse(id, out var runId))
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["id"] = ["id must be a run id (a GUID)."] });

        var sagas = runs.SagaTypes.Select(type => type.Name).ToList();
        var entries = await db.Set<SagaHistoryEntry>().AsNoTracking()
            .Where(e => e.CorrelationId == runId && sagas.Contains(e.Saga))
            .ToListAsync(cancellationToken);
        if (entries.Count == 0 && !await runs.Rows(db).AnyAsync(row => row.Id == runId, cancellationToken))
        {
            return Results.Problem(
                title: "Run not found",
                detail: $"No {module.Name} run has the id {runId}.",
                statusCode: StatusCodes.Status404NotFound);
        }

        var events = entries.Where(e => e.Kind == SagaHistoryKind.Event).ToList();
        var dropped = events.Count == 0 ? 0 : events.Max(e => e.Sequence ?? 0) - events.Count;
        // Events in the order they committed (sequence); a fault row sits where it happened in time.
        var ordered = entries.OrderBy(e => e.At).ThenBy(e => e.Sequence ?? int.MaxValue).ThenBy(e => e.Id).ToList();
        var activity = await runs.ActivityAsync(db, runId, cancellationToken);
        return Results.Ok(new RunHistory(module.Name, runId, [.. ordered.Select(RunHistoryEntry.From)], dropped, activity));
    }

    private static async Task<IResult> ListAsync(
        SagasDbContext db,
        WorkflowCatalog workflows,
        string? workflow,
        string? status,
        string? project,
        string? from,
        string? to,
        string? text,
        string? cursor,
        int? limit,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var filter = RunFilter.Parse(workflows, new RunFilterValues(workflow, status, project, from, to, text), errors);

        var size = limit ?? Paging.DefaultPageSize;
        if (size is < 1 or > Paging.MaxPageSize)
            errors["limit"] = [$"limit must be between 1 and {Paging.MaxPageSize}."];

        RunCursor? after = null;
        if (!string.IsNullOrEmpty(cursor))
        {
            if (RunCursor.TryParse(cursor, out var parsed))
                after = parsed;
            else
                errors["cursor"] = ["cursor is not one this list handed out; start again without it."];
        }

        if (errors.Count > 0)
            return Results.ValidationProblem(errors, title: "The run list was not read");

        // Each workflow answers its own first page after the cursor through its (created_at, id) index; the newest
        // of the union are the page. A DbContext runs one query at a time, so they run one after the other.
        var rows = new List<RunListItem>();
        foreach (var module in filter!.Modules)
        {
            var query = filter.Apply(module.Runs!, db);
            if (after is { } cursorAt)
                query = RunFilter.After(query, cursorAt.CreatedAt, cursorAt.Id);
            var page = await query
                .OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id)
                .Take(size + 1)
                .ToListAsync(cancellationToken);
            rows.AddRange(page.Select(r => RunListItem.From(module.Name, r, module.Runs!.DetailRoute(r))));
        }

        var ordered = rows
            .OrderByDescending(r => r.CreatedAt)
            .ThenByDescending(r => r.Id.ToString(), StringComparer.Ordinal)
            .ToList();
        var items = ordered.Take(size).ToList();
        var next = ordered.Count > size ? new RunCursor(items[^1].CreatedAt, items[^1].Id).ToString() : null;
        return Results.Ok(new RunPage(items, next));
    }

    private static IResult UnknownWorkflow(WorkflowCatalog workflows, string name) =>
        Results.Problem(
            title: "Unknown workflow",
            detail: $"No workflow is named '{RunFilter.Clip(name)}'; one of: {string.Join(", ", workflows.Modules.Where(m => m.Runs is not null).Select(m => m.Name))}.",
            statusCode: StatusCodes.Status404NotFound);

}

/// <summary>One page of <c>GET /api/runs</c>; <see cref="Next"/> is the cursor of the page after it (null on the last).</summary>
public sealed record RunPage(IReadOnlyList<RunListItem> Items, string? Next);

/// <param name="Link">The dashboard route of the run's page (<c>#/jobs/{id}</c>), null when its workflow has none.</param>
public sealed record RunListItem(string Workflow, Guid Id, string Status, Guid? ProjectId, string Title, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt, string? Link)
{
    public static RunListItem From(string workflow, RunRow row, string? link) =>
        new(workflow, row.Id, row.Status, row.ProjectId, row.Title.Length <= 300 ? row.Title : row.Title[..300] + "…", row.CreatedAt, row.FinishedAt, link);
}

public sealed record RunWorkflow(string Name, IReadOnlyList<string> Statuses);

/// <param name="Dropped">Events deleted from the middle of a long history (the first and last ones are kept).</param>
public sealed record RunHistory(string Workflow, Guid Id, IReadOnlyList<RunHistoryEntry> Entries, int Dropped, IReadOnlyList<RunActivityMinute> Activity);

public sealed record RunHistoryEntry(
    int? Sequence,
    string Kind,
    string Event,
    string? MessageType,
    Guid? MessageId,
    string? StateBefore,
    string? StateAfter,
    DateTimeOffset At,
    string? FaultType,
    string? FaultMessage,
    int? Attempts)
{
    public static RunHistoryEntry From(SagaHistoryEntry e) =>
        new(e.Sequence, e.Kind, e.Event, e.MessageType, e.MessageId, e.StateBefore, e.StateAfter, e.At, e.FaultType, e.FaultMessage,
            e.Kind == SagaHistoryKind.Fault ? e.Attempts : null);
}

/// <summary>Where the previous page ended: its last run's creation time and id, opaque to clients.</summary>
internal readonly record struct RunCursor(DateTimeOffset CreatedAt, Guid Id)
{
    public override string ToString() =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes($"{CreatedAt.UtcTicks.ToString(CultureInfo.InvariantCulture)}:{Id:N}"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static bool TryParse(string value, out RunCursor cursor)
    {
        cursor = default;
        try
        {
            var base64 = value.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '=');
            var parts = Encoding.ASCII.GetString(Convert.FromBase64String(base64)).Split(':');
            if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                || ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks || !Guid.TryParseExact(parts[1], "N", out var id))
                return false;
            cursor = new RunCursor(new DateTimeOffset(ticks, TimeSpan.Zero), id);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
