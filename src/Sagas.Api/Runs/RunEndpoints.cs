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
    public const int MaxTextLength = 200;

    public static IEndpointRouteBuilder MapRunEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/runs").WithTags("Runs");
        group.MapGet("/", ListAsync)
            .WithName("ListRuns")
            .WithSummary("Runs of every workflow, newest first, by workflow, status, project, creation time (from, to) and text (id, title, file name, prompt); paged by cursor.")
            .Produces<RunPage>().ProducesValidationProblem();
        group.MapGet("/{workflow}/{id}/history", HistoryAsync)
            .WithName("GetRunHistory")
            .WithSummary("One run's saga history (each event, state before and after, time, message id, faults) and its consumer activity per minute.")
            .Produces<RunHistory>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> HistoryAsync(string workflow, string id, SagasDbContext db, WorkflowCatalog workflows, CancellationToken cancellationToken)
    {
        if (Find(workflows, workflow) is not { Runs: { } runs } module)
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
        var all = workflows.Modules.Where(m => m.Runs is not null).ToList();
        var selected = all;
        if (!string.IsNullOrWhiteSpace(workflow))
        {
            var names = workflow.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = names.Where(name => Find(workflows, name) is not { Runs: not null }).ToList();
            if (unknown.Count > 0)
                errors["workflow"] = [$"Unknown workflow {string.Join(", ", unknown.Select(u => $"'{Clip(u)}'"))}; one of: {string.Join(", ", all.Select(m => m.Name))}."];
            selected = [.. all.Where(m => names.Contains(m.Name, StringComparer.OrdinalIgnoreCase))];
        }

        var wantedStatus = string.IsNullOrWhiteSpace(status) ? null : status.Trim().ToLowerInvariant();
        if (wantedStatus is not null && !errors.ContainsKey("workflow"))
        {
            var known = selected.SelectMany(m => m.Runs!.Statuses).Distinct(StringComparer.Ordinal).ToList();
            if (!known.Contains(wantedStatus, StringComparer.Ordinal))
                errors["status"] = [$"status is one of: {string.Join(", ", known)} (the statuses of the workflows asked for)."];
        }

        Guid? projectId = null;
        if (!string.IsNullOrWhiteSpace(project))
        {
            if (Guid.TryParse(project, out var parsed))
                projectId = parsed;
            else
                errors["project"] = ["project must be a project id (a GUID)."];
        }

        var fromUtc = ParseInstant(from, "from", errors);
        var toUtc = ParseInstant(to, "to", errors);
        if (fromUtc is { } f && toUtc is { } t && f >= t)
            errors["to"] = ["to must be later than from."];

        var search = string.IsNullOrWhiteSpace(text) ? null : text.Trim();
        if (search is { Length: > MaxTextLength })
            errors["text"] = [$"text is limited to {MaxTextLength} characters."];

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
        foreach (var module in selected)
        {
            var query = Filter(module.Runs!, db, wantedStatus, projectId, fromUtc, toUtc, search, after);
            var page = await query
                .OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id)
                .Take(size + 1)
                .ToListAsync(cancellationToken);
            rows.AddRange(page.Select(r => RunListItem.From(module.Name, r)));
        }

        var ordered = rows
            .OrderByDescending(r => r.CreatedAt)
            .ThenByDescending(r => r.Id.ToString(), StringComparer.Ordinal)
            .ToList();
        var items = ordered.Take(size).ToList();
        var next = ordered.Count > size ? new RunCursor(items[^1].CreatedAt, items[^1].Id).ToString() : null;
        return Results.Ok(new RunPage(items, next));
    }

    private static IQueryable<RunRow> Filter(
        WorkflowRuns runs, SagasDbContext db, string? status, Guid? projectId, DateTimeOffset? from, DateTimeOffset? to, string? text, RunCursor? after)
    {
        var query = runs.Rows(db).AsNoTracking();
        if (status is not null)
            query = query.Where(r => r.Status == status);
        if (projectId is { } project)
            query = query.Where(r => r.ProjectId == project);
        if (from is { } f)
            query = query.Where(r => r.CreatedAt >= f);
        if (to is { } t)
            query = query.Where(r => r.CreatedAt < t);
        if (text is not null)
        {
            if (Guid.TryParse(text, out var id))
                query = query.Where(r => r.Id == id);
            else
                query = query.Where(runs.TextMatches(db, text.ToLowerInvariant()));
        }

        if (after is { } cursor)
        {
            var at = cursor.CreatedAt;
            var lastId = cursor.Id;
            query = query.Where(r => r.CreatedAt < at || (r.CreatedAt == at && r.Id.CompareTo(lastId) < 0));
        }

        return query;
    }

    private static DateTimeOffset? ParseInstant(string? value, string key, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        // Stored instants are UTC; SQLite compares them as encoded numbers, which only order right in one offset.
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            return parsed.ToUniversalTime();
        errors[key] = [$"{key} must be an ISO 8601 instant, e.g. 2026-12-04T10:00:00Z."];
        return null;
    }

    private static IWorkflowModule? Find(WorkflowCatalog workflows, string name) =>
        workflows.Modules.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    private static IResult UnknownWorkflow(WorkflowCatalog workflows, string name) =>
        Results.Problem(
            title: "Unknown workflow",
            detail: $"No workflow is named '{Clip(name)}'; one of: {string.Join(", ", workflows.Modules.Where(m => m.Runs is not null).Select(m => m.Name))}.",
            statusCode: StatusCodes.Status404NotFound);

    private static string Clip(string value) => value.Length <= 60 ? value : value[..60] + "…";
}

/// <summary>One page of <c>GET /api/runs</c>; <see cref="Next"/> is the cursor of the page after it (null on the last).</summary>
public sealed record RunPage(IReadOnlyList<RunListItem> Items, string? Next);

public sealed record RunListItem(string Workflow, Guid Id, string Status, Guid? ProjectId, string Title, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt)
{
    public static RunListItem From(string workflow, RunRow row) =>
        new(workflow, row.Id, row.Status, row.ProjectId, row.Title.Length <= 300 ? row.Title : row.Title[..300] + "…", row.CreatedAt, row.FinishedAt);
}

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
