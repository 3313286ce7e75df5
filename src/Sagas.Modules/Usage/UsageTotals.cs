using System.Globalization;
using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Sagas.Persistence;

namespace Sagas.Modules.Usage;

/// <summary>Tokens and cost of a set of model calls. <see cref="UnpricedCalls"/> counts calls stored without a cost (no price applied).</summary>
public sealed record UsageTotal(
    long Calls, long InputTokens, long OutputTokens, long CachedInputTokens, long WebSearches, decimal CostUsd, long UnpricedCalls)
{
    public static UsageTotal None { get; } = new(0, 0, 0, 0, 0, 0m, 0);
}

/// <summary>One group of <c>GET /api/usage</c>: its key (a day as yyyy-MM-dd, a project id, a workflow, provider/model) and its totals.</summary>
public sealed record UsageGroup(string Key, UsageTotal Totals);

public static class UsageTotals
{
    public static readonly string[] GroupBys = ["day", "project", "workflow", "model"];

    /// <summary>The totals of one run (an LLM job, a prompt-analysis run), read on its <c>run_id</c> index.</summary>
    public static async Task<UsageTotal> OfRunAsync(SagasDbContext db, Guid runId, CancellationToken cancellationToken)
    {
        var groups = await GroupAsync(db.Set<ModelUsage>().AsNoTracking().Where(u => u.RunId == runId), u => u.RunId, cancellationToken);
        return groups.Select(g => g.Totals).FirstOrDefault() ?? UsageTotal.None;
    }

    /// <summary>Totals per group over the days [<paramref name="from"/>, <paramref name="to"/>], newest day or highest cost first.</summary>
    public static async Task<IReadOnlyList<UsageGroup>> GroupedAsync(
        SagasDbContext db, string groupBy, DateOnly from, DateOnly to, Guid? project, string? workflow, CancellationToken cancellationToken)
    {
        var rows = db.Set<ModelUsage>().AsNoTracking().Where(u => u.Day >= from && u.Day <= to);
        if (project is { } projectId)
            rows = rows.Where(u => u.ProjectId == projectId);
        if (!string.IsNullOrWhiteSpace(workflow))
            rows = rows.Where(u => u.Workflow == workflow);

        var groups = groupBy switch
        {
            "day" => (await GroupAsync(rows, u => u.Day, cancellationToken))
                .Select(g => new UsageGroup(g.Key.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), g.Totals)),
            "project" => (await GroupAsync(rows, u => u.ProjectId, cancellationToken))
                .Select(g => new UsageGroup(g.Key?.ToString() ?? "none", g.Totals)),
            "workflow" => (await GroupAsync(rows, u => u.Workflow, cancellationToken))
                .Select(g => new UsageGroup(g.Key, g.Totals)),
            "model" => (await GroupAsync(rows, u => new { u.Provider, u.Model }, cancellationToken))
                .Select(g => new UsageGroup(g.Key.Provider + "/" + g.Key.Model, g.Totals)),
            _ => throw new ArgumentException($"groupBy must be one of {string.Join(", ", GroupBys)}.", nameof(groupBy)),
        };

        // Days read newest first, as the dashboard's table does; anything else by what it cost.
        return groupBy == "day"
            ? [.. groups.OrderByDescending(g => g.Key, StringComparer.Ordinal)]
            : [.. groups.OrderByDescending(g => g.Totals.CostUsd).ThenByDescending(g => g.Totals.InputTokens + g.Totals.OutputTokens).ThenBy(g => g.Key, StringComparer.Ordinal)];
    }

    private static async Task<IEnumerable<(TKey Key, UsageTotal Totals)>> GroupAsync<TKey>(
        IQueryable<ModelUsage> rows, Expression<Func<ModelUsage, TKey>> key, CancellationToken cancellationToken)
    {
        var sums = await rows.GroupBy(key)
            .Select(g => new Keyed<TKey>(g.Key, g.LongCount(), g.Sum(u => u.InputTokens), g.Sum(u => u.OutputTokens), g.Sum(u => u.CachedInputTokens),
                g.Sum(u => (long)u.WebSearches), g.Sum(u => (double?)u.Cost) ?? 0, g.LongCount(u => u.Cost == null)))
            .ToListAsync(cancellationToken);
        return sums.Select(s => (s.Key, s.ToTotal()));
    }

    // SQLite sums no decimal: cost is summed as a double and rounded back to the 8 decimals it is stored with.
    private sealed record Keyed<TKey>(TKey Key, long Calls, long Input, long Output, long Cached, long Searches, double Cost, long Unpriced)
    {
        public UsageTotal ToTotal() => new(Calls, Input, Output, Cached, Searches, Math.Round((decimal)Cost, 8), Unpriced);
    }
}
