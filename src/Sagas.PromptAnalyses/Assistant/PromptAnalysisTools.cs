using System.Globalization;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sagas.Modules.Assistant;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;

namespace Sagas.PromptAnalyses.Assistant;

public sealed class CountPromptAnalysesTool(SagasDbContext db, TimeProvider clock) : DataTool(clock)
{
    public override string Name => "count_prompt_analyses";

    public override string Description => "Counts prompt analyses (one tracked prompt asked of its platforms in one run) by status (pending, running, completed, failed), created within a period.";

    public override string ParametersSchema => PeriodSchema();

    public override IReadOnlyList<string> Keywords { get; } = ["analys", "tracked prompt"];

    public override async Task<object> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        return await CountByStatusAsync(db.Set<AnalysisJob>().AsNoTracking(), j => j.CreatedAt, j => j.Status, "prompt_analyses",
            AssistantPeriod.Read(arguments, Now), cancellationToken);
    }

    public override string Describe(object result) => result is StatusCounts c
        ? $"Prompt analyses created in {c.Period}: {c.Total:N0} ({Counts(c.ByStatus)})."
        : "";
}

public sealed record PlatformUsage(string Platform, int Responses, int Succeeded, int Failed, long InputTokens, long OutputTokens, long TotalTokens, decimal Cost);

public sealed record PromptAnalysisUsage(string Period, DateTimeOffset? From, DateTimeOffset? To, IReadOnlyList<PlatformUsage> ByPlatform, decimal TotalCost, string CostNote);

public sealed class PromptAnalysisCostTool(SagasDbContext db, TimeProvider clock) : DataTool(clock)
{
    public override string Name => "prompt_analysis_costs";

    public override string Description =>
        "Cost (USD, from the price table at answer time) and tokens of prompt-analysis platform responses created within a period, per platform, with succeeded and failed counts.";

    public override string ParametersSchema => PeriodSchema();

    public override IReadOnlyList<string> Keywords { get; } = ["cost", "spend", "spent", "price", "dollar", "usd"];

    public override async Task<object> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        var period = AssistantPeriod.Read(arguments, Now);
        var responses = db.Set<PlatformResponse>().AsNoTracking();
        if (period.From is { } from)
            responses = responses.Where(r => r.CreatedAt >= from);
        if (period.To is { } to)
            responses = responses.Where(r => r.CreatedAt < to);

        // SQLite cannot sum decimals in SQL; a double sum of per-answer costs (8 decimals each) rounded back to 8 decimals is exact at report sizes.
        var rows = await responses
            .GroupBy(r => r.Platform)
            .Select(g => new
            {
                Platform = g.Key,
                Responses = g.Count(),
                Succeeded = g.Count(r => r.Status == PlatformResponseStatus.Success),
                Failed = g.Count(r => r.Status == PlatformResponseStatus.Error),
                InputTokens = g.Sum(r => r.InputTokens) ?? 0,
                OutputTokens = g.Sum(r => r.OutputTokens) ?? 0,
                TotalTokens = g.Sum(r => r.TotalTokens) ?? 0,
                Cost = g.Sum(r => (double?)r.Cost) ?? 0,
            })
            .ToListAsync(cancellationToken);
        var byPlatform = rows
            .Select(r => new PlatformUsage(r.Platform, r.Responses, r.Succeeded, r.Failed, r.InputTokens, r.OutputTokens, r.TotalTokens, Math.Round((decimal)r.Cost, 8)))
            .OrderByDescending(p => p.Cost).ThenBy(p => p.Platform, StringComparer.Ordinal)
            .ToList();
        return new PromptAnalysisUsage(period.Label, period.From, period.To, byPlatform, byPlatform.Sum(p => p.Cost),
            "Cost is what each answer was priced at when it was recorded (to 8 decimals, as stored); simulated answers cost nothing.");
    }

    public override string Describe(object result) => result is PromptAnalysisUsage u
        ? u.ByPlatform.Count == 0
            ? $"No prompt-analysis responses were recorded in {u.Period}."
            : $"Prompt-analysis cost in {u.Period}: {Usd(u.TotalCost)} in all; " + string.Join("; ", u.ByPlatform.Select(p =>
                $"{p.Platform}: {Usd(p.Cost)} for {p.Responses:N0} response(s) ({p.Succeeded:N0} succeeded, {p.Failed:N0} failed), {p.InputTokens:N0} input and {p.OutputTokens:N0} output tokens")) + "."
        : "";

    private static string Usd(decimal amount) => "$" + amount.ToString("0.00######", CultureInfo.InvariantCulture);
}

public sealed record BrandVisibilityRow(Guid ProjectId, string Project, string Platform, int SuccessfulResponses, int BrandMentioned, int DomainCited, double MentionShare, double CitationShare);

public sealed record BrandVisibility(string Period, DateTimeOffset? From, DateTimeOffset? To, Guid? ProjectId, IReadOnlyList<BrandVisibilityRow> Rows);

public sealed class BrandVisibilityTool(SagasDbContext db, TimeProvider clock) : DataTool(clock)
{
    public override string Name => "brand_visibility";

    public override string Description =>
        "Brand visibility per project and platform within a period: of the successful answers, how many (and what share) mention the project's brand and cite one of its domains.";

    public override string ParametersSchema => PeriodSchema(
        """
            "project_id": { "type": ["string", "null"], "description": "One project's id (uuid); null for every project." }
        """,
        ", \"project_id\"");

    public override IReadOnlyList<string> Keywords { get; } = ["brand", "visibility", "visible", "mention", "cite", "citation", "domain"];

    public override JsonElement SimulatedArguments(string prompt, AssistantPeriod period)
    {
        var arguments = period.ToArguments();
        arguments["project_id"] = null;
        return JsonSerializer.SerializeToElement(arguments);
    }

    public override async Task<object> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        var period = AssistantPeriod.Read(arguments, Now);
        var projectText = AssistantPeriod.ReadString(arguments, "project_id");
        Guid? projectId = null;
        if (!string.IsNullOrWhiteSpace(projectText))
        {
            if (!Guid.TryParse(projectText, out var parsed))
                throw new AssistantToolArgumentException($"'project_id' must be a uuid, not '{projectText}'.");
            projectId = parsed;
        }

        var responses = db.Set<PlatformResponse>().AsNoTracking().Where(r => r.Status == PlatformResponseStatus.Success);
        if (projectId is { } id)
            responses = responses.Where(r => r.ProjectId == id);
        if (period.From is { } from)
            responses = responses.Where(r => r.CreatedAt >= from);
        if (period.To is { } to)
            responses = responses.Where(r => r.CreatedAt < to);
        var rows = await responses
            .GroupBy(r => new { r.ProjectId, r.Platform })
            .Select(g => new
            {
                g.Key.ProjectId,
                g.Key.Platform,
                Successful = g.Count(),
                Mentioned = g.Count(r => r.BrandMentioned == true),
                Cited = g.Count(r => r.DomainCited == true),
            })
            .ToListAsync(cancellationToken);

        var projectIds = rows.Select(r => r.ProjectId).Distinct().ToList();
        var names = await db.Set<AnalysisProject>().AsNoTracking().Where(p => projectIds.Contains(p.Id)).ToDictionaryAsync(p => p.Id, p => p.Name, cancellationToken);
        return new BrandVisibility(period.Label, period.From, period.To, projectId, [.. rows
            .Select(r => new BrandVisibilityRow(r.ProjectId, names.GetValueOrDefault(r.ProjectId, "(deleted project)"), r.Platform, r.Successful, r.Mentioned, r.Cited,
                Share(r.Mentioned, r.Successful), Share(r.Cited, r.Successful)))
            .OrderBy(r => r.Project, StringComparer.Ordinal).ThenBy(r => r.Platform, StringComparer.Ordinal)]);
    }

    public override string Describe(object result) => result is BrandVisibility v
        ? v.Rows.Count == 0
            ? $"No successful prompt-analysis answers were recorded in {v.Period}."
            : $"Brand visibility in {v.Period}: " + string.Join("; ", v.Rows.Select(r =>
                $"{r.Project} on {r.Platform}: brand mentioned in {r.BrandMentioned:N0} of {r.SuccessfulResponses:N0} answers ({r.MentionShare:P0}), domain cited in {r.DomainCited:N0} ({r.CitationShare:P0})")) + "."
        : "";

    private static double Share(int part, int whole) => whole == 0 ? 0 : Math.Round((double)part / whole, 4);
}
