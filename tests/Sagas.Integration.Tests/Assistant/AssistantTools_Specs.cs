using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sagas.Api.Assistant;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.LlmJobs.Assistant;
using Sagas.LlmJobs.Data;
using Sagas.Modules.Assistant;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Assistant;
using Sagas.PromptAnalyses.Data;
using Sagas.ScanSessions.Assistant;
using Sagas.ScanSessions.Data;

namespace Sagas.Integration.Tests.Assistant;

/// <summary>One throwaway PostgreSQL database with rows of every workflow, seeded once for the class.</summary>
public sealed class AssistantData : IAsyncLifetime
{
    private readonly PostgresDatabase _database = new();

    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly DateTimeOffset LongAgo = Now.AddDays(-60);

    public static JsonElement AllTime { get; } = Arguments(new { period = "all", from = (string?)null, to = (string?)null });

    private readonly Guid _acme = Guid.NewGuid();

    public Guid FailedJob { get; } = Guid.NewGuid();

    public Guid FailedSession { get; } = Guid.NewGuid();

    public static JsonElement LastWeek { get; } = Arguments(new { period = "last_7_days", from = (string?)null, to = (string?)null });

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        if (TestServers.Postgres is null)
            return;

        await using var db = Open();
        await db.Database.MigrateAsync();

        LlmJob(Guid.NewGuid(), LlmJobStatus.Completed, "gpt-test", Now.AddHours(-1), db, (100, 10), (200, 20));
        LlmJob(FailedJob, LlmJobStatus.Failed, "gpt-test", Now.AddHours(-2), db, (5, 1));
        LlmJob(Guid.NewGuid(), LlmJobStatus.Completed, "simulated-1", LongAgo, db, (1_000, 1_000));
        db.Set<LlmJobItem>().Add(new LlmJobItem
        {
            JobId = FailedJob, ItemId = "failing", Sequence = 9, Status = LlmJobItemStatus.Failed, Error = "insufficient_quota",
            CreatedAt = Now.AddHours(-2), CompletedAt = Now.AddMinutes(-90),
        });

        db.Set<ScanSession>().AddRange(
            new ScanSession { Id = Guid.NewGuid(), Status = ScanSessionStatus.Completed, CreatedAt = Now.AddHours(-3) },
            new ScanSession { Id = FailedSession, Status = ScanSessionStatus.Failed, Error = "manifest unreadable", CreatedAt = Now.AddMinutes(-30), CompletedAt = Now.AddMinutes(-29) });

        var run = new AnalysisRun { Id = Guid.NewGuid(), RunKey = "spec-" + Guid.NewGuid(), CreatedAt = Now };
        db.AddRange(run, new AnalysisProject { Id = _acme, Name = "Acme", BrandNames = ["Acme"], Domains = ["acme.test"], CreatedAt = Now, UpdatedAt = Now });
        Analysis(db, run, AnalysisJobStatus.Completed, Now.AddHours(-1),
            Response("openai", PlatformResponseStatus.Success, 0.00123456m, mentioned: true, cited: true),
            Response("claude", PlatformResponseStatus.Success, 0.0025m, mentioned: false, cited: true));
        Analysis(db, run, AnalysisJobStatus.Failed, Now.AddHours(-2),
            Response("openai", PlatformResponseStatus.Success, 0.00000001m, mentioned: true, cited: false),
            Response("claude", PlatformResponseStatus.Error, null, mentioned: null, cited: null));
        Analysis(db, run, AnalysisJobStatus.Completed, LongAgo,
            Response("openai", PlatformResponseStatus.Success, 7m, mentioned: true, cited: true));
        await db.SaveChangesAsync();
    }

    public Task DisposeAsync() => _database.DisposeAsync();

    public SagasDbContext Open()
    {
        return _database.NewContext();
    }

    public static JsonElement Arguments(object value) => JsonSerializer.SerializeToElement(value);

    private static void LlmJob(Guid id, string status, string model, DateTimeOffset createdAt, SagasDbContext db, params (int Input, int Output)[] items)
    {
        db.Set<LlmJob>().Add(new LlmJob
        {
            Id = id, Kind = "flagging", Model = model, Status = status, Provider = "openai", TotalItems = items.Length, CreatedAt = createdAt,
            FinishedAt = createdAt.AddMinutes(5), ExpiresAt = createdAt.AddDays(1), LastError = status == LlmJobStatus.Failed ? "every item failed" : null,
        });
        db.Set<LlmJobItem>().AddRange(items.Select((tokens, index) => new LlmJobItem
        {
            JobId = id, ItemId = (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), Sequence = index, Status = LlmJobItemStatus.Succeeded,
            InputTokens = tokens.Input, OutputTokens = tokens.Output, CreatedAt = createdAt, CompletedAt = createdAt.AddMinutes(1),
        }));
    }

    private void Analysis(SagasDbContext db, AnalysisRun run, string status, DateTimeOffset createdAt, params PlatformResponse[] responses)
    {
        var job = new AnalysisJob
        {
            Id = Guid.NewGuid(), RunId = run.Id, PromptId = Guid.NewGuid(), ProjectId = _acme, PromptText = "best anvils?",
            Platforms = [.. responses.Select(r => r.Platform)], Status = status, TotalPlatforms = responses.Length, CreatedAt = createdAt,
        };
        db.Add(job);
        foreach (var response in responses)
        {
            response.AnalysisJobId = job.Id;
            response.PromptId = job.PromptId;
            response.ProjectId = _acme;
            response.CreatedAt = createdAt;
            db.Add(response);
        }
    }

    private static PlatformResponse Response(string platform, string status, decimal? cost, bool? mentioned, bool? cited) => new()
    {
        Id = Guid.NewGuid(), Platform = platform, Status = status, Cost = cost, PromptText = "best anvils?", Attempts = 1,
        InputTokens = cost is null ? null : 10, OutputTokens = cost is null ? null : 5, TotalTokens = cost is null ? null : 15,
        BrandMentioned = mentioned, DomainCited = cited,
    };
}

/// <summary>
/// The assistant's tools translate to SQL per provider; the API specs run them on SQLite only, so these run the same
/// questions against the production database, where grouping, conditional counts and decimal sums translate differently.
/// </summary>
public sealed class When_the_assistant_tools_query_postgresql(AssistantData data) : IClassFixture<AssistantData>
{
    [ServerFact(postgres: true)]
    public async Task Should_count_each_workflow_by_status_within_the_period()
    {
        await using var db = data.Open();

        var jobs = (StatusCounts)await new CountLlmJobsTool(db, TimeProvider.System).InvokeAsync(AssistantData.LastWeek, default);
        var allJobs = (StatusCounts)await new CountLlmJobsTool(db, TimeProvider.System).InvokeAsync(AssistantData.AllTime, default);
        var sessions = (StatusCounts)await new CountScanSessionsTool(db, TimeProvider.System).InvokeAsync(AssistantData.LastWeek, default);
        var analyses = (StatusCounts)await new CountPromptAnalysesTool(db, TimeProvider.System).InvokeAsync(AssistantData.LastWeek, default);

        Assert.Equal(2, jobs.Total);
        Assert.Equal(1, jobs.ByStatus[LlmJobStatus.Completed]);
        Assert.Equal(1, jobs.ByStatus[LlmJobStatus.Failed]);
        Assert.Equal(3, allJobs.Total);
        Assert.Equal(1, sessions.ByStatus[ScanSessionStatus.Failed]);
        Assert.Equal(2, sessions.Total);
        Assert.Equal(new Dictionary<string, int> { [AnalysisJobStatus.Completed] = 1, [AnalysisJobStatus.Failed] = 1 }, analyses.ByStatus);
    }

    [ServerFact(postgres: true)]
    public async Task Should_sum_cost_to_the_stored_decimals_and_tokens_per_platform()
    {
        await using var db = data.Open();

        var usage = (PromptAnalysisUsage)await new PromptAnalysisCostTool(db, TimeProvider.System).InvokeAsync(AssistantData.LastWeek, default);

        var openAi = usage.ByPlatform.Single(p => p.Platform == "openai");
        Assert.Equal(0.00123457m, openAi.Cost);
        Assert.Equal(2, openAi.Succeeded);
        Assert.Equal(20, openAi.InputTokens);
        var claude = usage.ByPlatform.Single(p => p.Platform == "claude");
        Assert.Equal((2, 1, 1), (claude.Responses, claude.Succeeded, claude.Failed));
        Assert.Equal(0.0025m, claude.Cost);
        Assert.Equal(0.00373457m, usage.TotalCost);
    }

    [ServerFact(postgres: true)]
    public async Task Should_give_brand_visibility_over_successful_answers_only()
    {
        await using var db = data.Open();

        var visibility = (BrandVisibility)await new BrandVisibilityTool(db, TimeProvider.System).InvokeAsync(AssistantData.LastWeek, default);

        Assert.Equal(["claude", "openai"], visibility.Rows.Select(r => r.Platform));
        var openAi = visibility.Rows.Single(r => r.Platform == "openai");
        Assert.Equal(("Acme", 2, 2, 1, 0.5), (openAi.Project, openAi.SuccessfulResponses, openAi.BrandMentioned, openAi.DomainCited, openAi.CitationShare));
        var claude = visibility.Rows.Single(r => r.Platform == "claude");
        Assert.Equal((1, 0, 1), (claude.SuccessfulResponses, claude.BrandMentioned, claude.DomainCited));
    }

    [ServerFact(postgres: true)]
    public async Task Should_list_failures_newest_first_across_workflows()
    {
        await using var db = data.Open();

        var failures = (RecentFailures)await new RecentFailuresTool([new FailedLlmJobs(db), new FailedLlmJobItems(db), new FailedScanSessions(db)], TimeProvider.System).InvokeAsync(AssistantData.Arguments(new { source = "all", limit = 3 }), default);

        Assert.Equal(["scan_session", "llm_job_item", "llm_job"], failures.Failures.Select(f => f.Kind));
        Assert.Equal(data.FailedSession.ToString(), failures.Failures[0].Id);
        Assert.Equal($"{data.FailedJob}/failing", failures.Failures[1].Id);
        Assert.Equal("insufficient_quota", failures.Failures[1].Error);
    }

    [ServerFact(postgres: true)]
    public async Task Should_sum_llm_job_tokens_per_model_counting_each_job_once()
    {
        await using var db = data.Open();

        var usage = (LlmUsage)await new LlmJobUsageTool(db, TimeProvider.System).InvokeAsync(AssistantData.LastWeek, default);

        var model = Assert.Single(usage.ByModel);
        Assert.Equal(("gpt-test", 2, 4, 305L, 31L), (model.Model, model.Jobs, model.Items, model.InputTokens, model.OutputTokens));
    }
}
