using System.Linq.Expressions;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;

namespace Sagas.Modules.Assistant;

/// <summary>Shared plumbing of the tools over our own tables: periods, status counts, argument reading.</summary>
public abstract class DataTool(TimeProvider clock) : IAssistantTool
{
    public abstract string Name { get; }

    public abstract string Description { get; }

    public abstract string ParametersSchema { get; }

    public abstract IReadOnlyList<string> Keywords { get; }

    protected DateTimeOffset Now => clock.GetUtcNow();

    public virtual JsonElement SimulatedArguments(string prompt, AssistantPeriod period) => JsonSerializer.SerializeToElement(period.ToArguments());

    public abstract Task<object> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken);

    public abstract string Describe(object result);

    protected static string PeriodSchema(string extraProperties = "", string extraRequired = "") =>
        $$"""
        {
          "type": "object",
          "properties": {
            {{AssistantPeriod.SchemaProperties}}{{(extraProperties.Length == 0 ? "" : ",\n" + extraProperties)}}
          },
          "required": ["period", "from", "to"{{extraRequired}}],
          "additionalProperties": false
        }
        """;

    /// <summary>
    /// Every "how many by status, created in a period" tool asks the same question of a different table: one query
    /// shape, so a fix to the period filter reaches all of them.
    /// </summary>
    protected static async Task<StatusCounts> CountByStatusAsync<TEntity>(
        IQueryable<TEntity> rows,
        Expression<Func<TEntity, DateTimeOffset>> createdAt,
        Expression<Func<TEntity, string>> status,
        string subject,
        AssistantPeriod period,
        CancellationToken cancellationToken)
    {
        if (period.From is { } from)
            rows = rows.Where(Compare(createdAt, from, Expression.GreaterThanOrEqual));
        if (period.To is { } to)
            rows = rows.Where(Compare(createdAt, to, Expression.LessThan));
        var counts = await rows.GroupBy(status).Select(g => new { Status = g.Key, Count = g.Count() })
            .ToDictionaryAsync(c => c.Status, c => c.Count, cancellationToken);
        return new StatusCounts(subject, period.Label, period.From, period.To, counts.Values.Sum(), counts);
    }

    private static Expression<Func<TEntity, bool>> Compare<TEntity>(
        Expression<Func<TEntity, DateTimeOffset>> createdAt, DateTimeOffset bound, Func<Expression, Expression, BinaryExpression> comparison)
    {
        // The bound goes in as a captured value, not a constant, so EF sends it as a query parameter as a lambda would.
        Expression<Func<DateTimeOffset>> captured = () => bound;
        return Expression.Lambda<Func<TEntity, bool>>(comparison(createdAt.Body, captured.Body), createdAt.Parameters);
    }

    protected static string Counts(IReadOnlyDictionary<string, int> byStatus) =>
        byStatus.Count == 0 ? "none" : string.Join(", ", byStatus.OrderByDescending(s => s.Value).Select(s => $"{s.Value:N0} {s.Key}"));
}

public sealed record StatusCounts(string Subject, string Period, DateTimeOffset? From, DateTimeOffset? To, int Total, IReadOnlyDictionary<string, int> ByStatus);
