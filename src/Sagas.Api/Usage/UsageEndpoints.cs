using System.Globalization;
using Sagas.Modules;
using Sagas.Modules.Usage;
using Sagas.Persistence;

namespace Sagas.Api.Usage;

/// <summary><c>GET /api/usage</c>: tokens and cost of model calls (<c>model_usage</c>) summed per day, project, workflow or model.</summary>
public static class UsageEndpoints
{
    /// <summary>The longest range one request may sum: a year and a bit, the retention of <c>model_usage</c>.</summary>
    public const int MaxDays = 400;

    /// <summary>What a request without <c>from</c> covers.</summary>
    public const int DefaultDays = 30;

    /// <summary>What <c>workflow</c> may be besides a workflow's name: the assistant's calls.</summary>
    public const string AssistantWorkflow = "assistant";

    public static IEndpointRouteBuilder MapUsageEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/usage", TotalsAsync).WithTags("Usage")
            .WithName("GetUsage")
            .WithSummary("Tokens (input, output, cached) and cost (USD, price table, batch discount applied) of every model call, summed per day, project, workflow or model over days from..to (UTC, inclusive; default the last 30 days), optionally for one project or workflow.")
            .Produces<UsageReport>().ProducesValidationProblem();
        return endpoints;
    }

    private static async Task<IResult> TotalsAsync(
        SagasDbContext db, WorkflowCatalog workflows, TimeProvider clock,
        string? groupBy, string? from, string? to, string? project, string? workflow, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var group = string.IsNullOrWhiteSpace(groupBy) ? "day" : groupBy.Trim().ToLowerInvariant();
        if (!UsageTotals.GroupBys.Contains(group))
            errors["groupBy"] = [$"groupBy is one of: {string.Join(", ", UsageTotals.GroupBys)}; not '{groupBy}'."];

        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        var last = ReadDate(to, "to", errors) ?? today;
        var first = ReadDate(from, "from", errors) ?? last.AddDays(1 - DefaultDays);
        if (!errors.ContainsKey("from") && !errors.ContainsKey("to"))
        {
            if (first > last)
                errors["from"] = [$"from ({first:yyyy-MM-dd}) is after to ({last:yyyy-MM-dd})."];
            else if (last.DayNumber - first.DayNumber + 1 > MaxDays)
                errors["to"] = [$"from..to covers {last.DayNumber - first.DayNumber + 1} days; at most {MaxDays}."];
        }

        Guid? projectId = null;
        if (!string.IsNullOrWhiteSpace(project))
        {
            if (Guid.TryParse(project, out var parsed))
                projectId = parsed;
            else
                errors["project"] = ["project must be a project id (a GUID)."];
        }

        var known = workflows.Modules.Select(m => m.Name).Append(AssistantWorkflow).ToList();
        if (!string.IsNullOrWhiteSpace(workflow) && !known.Contains(workflow, StringComparer.Ordinal))
            errors["workflow"] = [$"workflow is one of: {string.Join(", ", known)}; not '{workflow}'."];
        if (errors.Count > 0)
            return Results.ValidationProblem(errors, title: "Bad usage query");

        var groups = await UsageTotals.GroupedAsync(db, group, first, last, projectId, string.IsNullOrWhiteSpace(workflow) ? null : workflow, cancellationToken);
        var total = new UsageTotal(
            groups.Sum(g => g.Totals.Calls), groups.Sum(g => g.Totals.InputTokens), groups.Sum(g => g.Totals.OutputTokens),
            groups.Sum(g => g.Totals.CachedInputTokens), groups.Sum(g => g.Totals.WebSearches), groups.Sum(g => g.Totals.CostUsd), groups.Sum(g => g.Totals.UnpricedCalls));
        return Results.Ok(new UsageReport(group, first, last, projectId, string.IsNullOrWhiteSpace(workflow) ? null : workflow, total, groups));
    }

    private static DateOnly? ReadDate(string? text, string name, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        if (DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            return date;
        errors[name] = [$"{name} must be a date as yyyy-MM-dd, not '{text}'."];
        return null;
    }
}

/// <summary>The answer of <c>GET /api/usage</c>: the query as read (defaults filled in), the grand total and each group.</summary>
public sealed record UsageReport(
    string GroupBy, DateOnly From, DateOnly To, Guid? Project, string? Workflow, UsageTotal Total, IReadOnlyList<UsageGroup> Groups);
