using System.Linq.Expressions;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sagas.Persistence;
using Sagas.Persistence.LlmJobs;
using Sagas.Persistence.ScanSessions;

namespace Sagas.Api.Assistant.Tools;

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

public sealed class CountLlmJobsTool(SagasDbContext db, TimeProvider clock) : DataTool(clock)
{
    public override string Name => "count_llm_jobs";

    public override string Description => "Counts LLM jobs by status (queued, running, completed, failed, cancelled), created within a period.";

    public override string ParametersSchema => PeriodSchema();

    public override IReadOnlyList<string> Keywords { get; } = ["llm job", "job", "flagging"];

    public override async Task<object> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        return await CountByStatusAsync(db.Set<LlmJob>().AsNoTracking(), j => j.CreatedAt, j => j.Status, "llm_jobs",
            AssistantPeriod.Read(arguments, Now), cancellationToken);
    }

    public override string Describe(object result) => result is StatusCounts c
        ? $"LLM jobs created in {c.Period}: {c.Total:N0} ({Counts(c.ByStatus)})."
        : "";
}

public sealed class CountScanSessionsTool(SagasDbContext db, TimeProvider clock) : DataTool(clock)
{
    public override string Name => "count_scan_sessions";

    public override string Description => "Counts scan sessions by status (dispatching, scanning, reporting, completed, failed, cancelled), created within a period.";

    public override string ParametersSchema => PeriodSchema();

    public override IReadOnlyList<string> Keywords { get; } = ["scan", "session"];

    public override async Task<object> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        return await CountByStatusAsync(db.Set<ScanSession>().AsNoTracking(), s => s.CreatedAt, s => s.Status, "scan_sessions",
            AssistantPeriod.Read(arguments, Now), cancellationToken);
    }

    public override string Describe(object result) => result is StatusCounts c
        ? $"Scan sessions created in {c.Period}: {c.Total:N0} ({Counts(c.ByStatus)})."
        : "";
}

public sealed record RecentFailure(string Kind, string Id, string Status, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt, string? Error);

public sealed record RecentFailures(int Limit, IReadOnlyList<RecentFailure> Failures);

public sealed class RecentFailuresTool(SagasDbContext db, TimeProvider clock) : DataTool(clock)
{
    private const int MaxLimit = 20;

    public override string Name => "recent_failures";

    public override string Description =>
        "The most recent failures, newest first: failed LLM jobs, failed LLM job items (with the provider's error) and failed scan sessions.";

    public override string ParametersSchema =>
        """
        {
          "type": "object",
          "properties": {
            "source": { "type": "string", "enum": ["all", "llm_jobs", "llm_job_items", "scan_sessions"], "description": "Which failures to list." },
            "limit": { "type": "integer", "minimum": 1, "maximum": 20, "description": "How many to return." }
          },
          "required": ["source", "limit"],
          "additionalProperties": false
        }
        """;

    public override IReadOnlyList<string> Keywords { get; } = ["fail", "error", "broke", "wrong"];

    public override JsonElement SimulatedArguments(string prompt, AssistantPeriod period)
    {
        var text = prompt.ToLowerInvariant();
        var source = text.Contains("scan", StringComparison.Ordinal) ? "scan_sessions"
            : text.Contains("item", StringComparison.Ordinal) ? "llm_job_items"
            : text.Contains("job", StringComparison.Ordinal) ? "llm_jobs"
            : "all";
        return JsonSerializer.SerializeToElement(new { source, limit = 5 });
    }

    public override async Task<object> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        var source = AssistantPeriod.ReadString(arguments, "source") ?? "all";
        if (source is not ("all" or "llm_jobs" or "llm_job_items" or "scan_sessions"))
            throw new AssistantToolArgumentException($"Unknown source '{source}'; one of: all, llm_jobs, llm_job_items, scan_sessions.");
        var limit = arguments.ValueKind == JsonValueKind.Object && arguments.TryGetProperty("limit", out var l) && l.TryGetInt32(out var n) ? n : 5;
        limit = Math.Clamp(limit, 1, MaxLimit);

        var failures = new List<RecentFailure>();
        if (source is "all" or "llm_jobs")
        {
            failures.AddRange(await db.Set<LlmJob>().AsNoTracking()
                .Where(j => j.Status == LlmJobStatus.Failed)
                .OrderByDescending(j => j.CreatedAt).Take(limit)
                .Select(j => new RecentFailure("llm_job", j.Id.ToString(), j.Status, j.CreatedAt, j.FinishedAt, j.LastError ?? j.StopReason))
                .ToListAsync(cancellationToken));
        }

        if (source is "all" or "llm_job_items")
        {
            failures.AddRange(await db.Set<LlmJobItem>().AsNoTracking()
                .Where(i => i.Status == LlmJobItemStatus.Failed)
                .OrderByDescending(i => i.CompletedAt).Take(limit)
                .Select(i => new RecentFailure("llm_job_item", i.JobId + "/" + i.ItemId, i.Status, i.CreatedAt, i.CompletedAt, i.Error))
                .ToListAsync(cancellationToken));
        }

        if (source is "all" or "scan_sessions")
        {
            failures.AddRange(await db.Set<ScanSession>().AsNoTracking()
                .Where(s => s.Status == ScanSessionStatus.Failed)
                .OrderByDescending(s => s.CreatedAt).Take(limit)
                .Select(s => new RecentFailure("scan_session", s.Id.ToString(), s.Status, s.CreatedAt, s.CompletedAt, s.Error))
                .ToListAsync(cancellationToken));
        }

        return new RecentFailures(limit, [.. failures.OrderByDescending(f => f.FinishedAt ?? f.CreatedAt).Take(limit).Select(f => f with { Error = Clip(f.Error) })]);
    }

    public override string Describe(object result) => result is RecentFailures r
        ? r.Failures.Count == 0
            ? "No failures are recorded."
            : $"The {r.Failures.Count} most recent failure(s): " + string.Join("; ", r.Failures.Select(f => $"{f.Kind} {f.Id} ({f.FinishedAt ?? f.CreatedAt:yyyy-MM-dd HH:mm} UTC): {f.Error ?? "no error recorded"}")) + "."
        : "";

    private static string? Clip(string? text) => text is { Length: > 300 } ? text[..300] + "…" : text;
}

public sealed record ModelUsage(string Model, bool Simulated, int Jobs, int Items, long InputTokens, long OutputTokens);

public sealed record LlmUsage(string Period, DateTimeOffset? From, DateTimeOffset? To, IReadOnlyList<ModelUsage> ByModel, string CostNote);

public sealed class LlmJobUsageTool(SagasDbContext db, TimeProvider clock) : DataTool(clock)
{
    public override string Name => "llm_job_usage";

    public override string Description =>
        "Token usage of LLM jobs created within a period, per model: jobs, items, input and output tokens. Money costs are not stored for LLM jobs.";

    public override string ParametersSchema => PeriodSchema();

    public override IReadOnlyList<string> Keywords { get; } = ["token", "cost", "usage", "spend", "spent", "price"];

    public override async Task<object> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        var period = AssistantPeriod.Read(arguments, Now);
        var jobs = db.Set<LlmJob>().AsNoTracking();
        if (period.From is { } from)
            jobs = jobs.Where(j => j.CreatedAt >= from);
        if (period.To is { } to)
            jobs = jobs.Where(j => j.CreatedAt < to);
        var rows = await jobs
            .Join(db.Set<LlmJobItem>().AsNoTracking(), j => j.Id, i => i.JobId, (j, i) => new { j.Model, j.Simulated, i.JobId, i.InputTokens, i.OutputTokens })
            .GroupBy(r => new { r.Model, r.Simulated })
            .Select(g => new
            {
                g.Key.Model,
                g.Key.Simulated,
                Jobs = g.Select(r => r.JobId).Distinct().Count(),
                Items = g.Count(),
                InputTokens = g.Sum(r => (long?)r.InputTokens) ?? 0,
                OutputTokens = g.Sum(r => (long?)r.OutputTokens) ?? 0,
            })
            .ToListAsync(cancellationToken);
        return new LlmUsage(period.Label, period.From, period.To,
            [.. rows.OrderByDescending(r => r.InputTokens + r.OutputTokens).Select(r => new ModelUsage(r.Model, r.Simulated, r.Jobs, r.Items, r.InputTokens, r.OutputTokens))],
            "Token counts as the provider reported them; LLM jobs store no prices, so no money cost is computed.");
    }

    public override string Describe(object result) => result is LlmUsage u
        ? u.ByModel.Count == 0
            ? $"No LLM job items were created in {u.Period}."
            : $"LLM job token usage in {u.Period}: " + string.Join("; ", u.ByModel.Select(m =>
                $"{m.Model}{(m.Simulated ? " (simulated)" : "")}: {m.Jobs:N0} job(s), {m.Items:N0} item(s), {m.InputTokens:N0} input and {m.OutputTokens:N0} output tokens")) +
              ". No money cost is stored for LLM jobs."
        : "";
}
