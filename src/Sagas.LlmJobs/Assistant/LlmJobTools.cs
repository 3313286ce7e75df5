using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sagas.LlmJobs.Data;
using Sagas.Modules.Assistant;
using Sagas.Persistence;

namespace Sagas.LlmJobs.Assistant;

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

/// <summary>Failed LLM jobs for the assistant's <c>recent_failures</c>.</summary>
public sealed class FailedLlmJobs(SagasDbContext db) : IRecentFailureSource
{
    public string Name => "llm_jobs";

    public string Description => "failed LLM jobs";

    public string PromptWord => "job";

    public async Task<IReadOnlyList<RecentFailure>> ListAsync(int limit, CancellationToken cancellationToken) =>
        await db.Set<LlmJob>().AsNoTracking()
            .Where(j => j.Status == LlmJobStatus.Failed)
            .OrderByDescending(j => j.CreatedAt).Take(limit)
            .Select(j => new RecentFailure("llm_job", j.Id.ToString(), j.Status, j.CreatedAt, j.FinishedAt, j.LastError ?? j.StopDetail))
            .ToListAsync(cancellationToken);
}

/// <summary>Failed LLM job items, with the provider's error, for the assistant's <c>recent_failures</c>.</summary>
public sealed class FailedLlmJobItems(SagasDbContext db) : IRecentFailureSource
{
    public string Name => "llm_job_items";

    public string Description => "failed LLM job items (with the provider's error)";

    public string PromptWord => "item";

    public async Task<IReadOnlyList<RecentFailure>> ListAsync(int limit, CancellationToken cancellationToken) =>
        await db.Set<LlmJobItem>().AsNoTracking()
            .Where(i => i.Status == LlmJobItemStatus.Failed)
            .OrderByDescending(i => i.CompletedAt).Take(limit)
            .Select(i => new RecentFailure("llm_job_item", i.JobId + "/" + i.ItemId, i.Status, i.CreatedAt, i.CompletedAt, i.Error))
            .ToListAsync(cancellationToken);
}
