using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Sagas.Modules;
using Sagas.Modules.Runs;
using Sagas.Persistence;

namespace Sagas.Api.Runs;

/// <summary>The run list's filter as callers send it (query string of <c>GET /api/runs</c>, body of a bulk action).</summary>
public sealed record RunFilterValues(string? Workflow, string? Status, string? Project, string? From, string? To, string? Text);

/// <summary>
/// A validated run filter: the workflows it covers and the conditions every one of their run queries gets. The list
/// and the bulk actions share it, so "all matching the filter" means what the list shows.
/// </summary>
public sealed record RunFilter(IReadOnlyList<IWorkflowModule> Modules, string? Status, Guid? ProjectId, DateTimeOffset? From, DateTimeOffset? To, string? Text)
{
    public const int MaxTextLength = 200;

    /// <summary>Null with <paramref name="errors"/> filled (one message per field) when a value is refused.</summary>
    public static RunFilter? Parse(WorkflowCatalog workflows, RunFilterValues values, Dictionary<string, string[]> errors)
    {
        var all = workflows.Modules.Where(m => m.Runs is not null).ToList();
        var selected = all;
        var workflowRefused = false;
        if (!string.IsNullOrWhiteSpace(values.Workflow))
        {
            var names = values.Workflow.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = names.Where(name => Find(workflows, name) is not { Runs: not null }).ToList();
            if (unknown.Count > 0)
            {
                errors["workflow"] = [$"Unknown workflow {string.Join(", ", unknown.Select(u => $"'{Clip(u)}'"))}; one of: {string.Join(", ", all.Select(m => m.Name))}."];
                workflowRefused = true;
            }

            selected = [.. all.Where(m => names.Contains(m.Name, StringComparer.OrdinalIgnoreCase))];
        }

        var status = string.IsNullOrWhiteSpace(values.Status) ? null : values.Status.Trim().ToLowerInvariant();
        if (status is not null && !workflowRefused)
        {
            var known = selected.SelectMany(m => m.Runs!.Statuses).Distinct(StringComparer.Ordinal).ToList();
            if (!known.Contains(status, StringComparer.Ordinal))
                errors["status"] = [$"status is one of: {string.Join(", ", known)} (the statuses of the workflows asked for)."];
        }

        Guid? projectId = null;
        if (!string.IsNullOrWhiteSpace(values.Project))
        {
            if (Guid.TryParse(values.Project, out var parsed))
                projectId = parsed;
            else
                errors["project"] = ["project must be a project id (a GUID)."];
        }

        var from = ParseInstant(values.From, "from", errors);
        var to = ParseInstant(values.To, "to", errors);
        if (from is { } f && to is { } t && f >= t)
            errors["to"] = ["to must be later than from."];

        var text = string.IsNullOrWhiteSpace(values.Text) ? null : values.Text.Trim();
        if (text is { Length: > MaxTextLength })
            errors["text"] = [$"text is limited to {MaxTextLength} characters."];

        return errors.Count > 0 ? null : new RunFilter(selected, status, projectId, from, to, text);
    }

    /// <summary>The module's runs that match, not yet ordered.</summary>
    public IQueryable<RunRow> Apply(WorkflowRuns runs, SagasDbContext db)
    {
        var query = runs.Rows(db).AsNoTracking();
        if (Status is not null)
            query = query.Where(r => r.Status == Status);
        if (ProjectId is { } project)
            query = query.Where(r => r.ProjectId == project);
        if (From is { } f)
            query = query.Where(r => r.CreatedAt >= f);
        if (To is { } t)
            query = query.Where(r => r.CreatedAt < t);
        if (Text is not null)
        {
            if (Guid.TryParse(Text, out var id))
                query = query.Where(r => r.Id == id);
            else
                query = query.Where(runs.TextMatches(db, Text.ToLowerInvariant()));
        }

        return query;
    }

    /// <summary>Runs strictly after (older than) the given one in the list's order: newest first, then id descending.</summary>
    public static IQueryable<RunRow> After(IQueryable<RunRow> query, DateTimeOffset createdAt, Guid id) =>
        query.Where(r => r.CreatedAt < createdAt || (r.CreatedAt == createdAt && r.Id.CompareTo(id) < 0));

    internal static IWorkflowModule? Find(WorkflowCatalog workflows, string name) =>
        workflows.Modules.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    internal static string Clip(string value) => value.Length <= 60 ? value : value[..60] + "…";

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
}
