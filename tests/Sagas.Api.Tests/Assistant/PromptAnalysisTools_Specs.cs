using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Sagas.Api.Assistant;
using Sagas.Api.Tests.Hosting;
using Sagas.Modules.Assistant;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;

namespace Sagas.Api.Tests.Assistant;

/// <summary>The embedded API over one set of analyses, seeded once as the workflow writes its rows; one older row tests the periods.</summary>
public sealed class SeededAnalysesApi : IAsyncLifetime, IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly DateTimeOffset LongAgo = Now.AddDays(-60);

    private readonly List<object> _rows = [];

    // The embedded workers run the claim step every 30 s: with one slot, held by the seeded running analysis, it never
    // starts the seeded pending one (which, asking no platform, would fail at once and change the counts mid-class).
    public EmbeddedApi Api { get; } = new() { Settings = new Dictionary<string, string> { ["PromptAnalyses:MaxConcurrentAnalyses"] = "1" } };

    public Guid Acme { get; } = Guid.NewGuid();

    public Guid Globex { get; } = Guid.NewGuid();

    public async Task InitializeAsync()
    {
        var run = new AnalysisRun { Id = Guid.NewGuid(), RunKey = "spec-" + Guid.NewGuid(), CreatedAt = Now };
        _rows.Add(run);
        _rows.Add(new AnalysisProject { Id = Acme, Name = "Acme", BrandNames = ["Acme"], Domains = ["acme.test"], CreatedAt = Now, UpdatedAt = Now });
        _rows.Add(new AnalysisProject { Id = Globex, Name = "Globex", BrandNames = ["Globex"], Domains = ["globex.test"], CreatedAt = Now, UpdatedAt = Now });

        Job(run, Acme, AnalysisJobStatus.Completed, Now.AddHours(-1),
            Response("openai", PlatformResponseStatus.Success, 0.00123456m, 100, 50, mentioned: true, cited: true),
            Response("claude", PlatformResponseStatus.Success, 0.0025m, 200, 80, mentioned: true, cited: false));
        Job(run, Acme, AnalysisJobStatus.Completed, Now.AddHours(-2),
            Response("openai", PlatformResponseStatus.Success, 0.001m, 10, 5, mentioned: true, cited: false),
            Response("claude", PlatformResponseStatus.Error, null, null, null, mentioned: null, cited: null));
        Job(run, Acme, AnalysisJobStatus.Failed, Now.AddHours(-3),
            Response("openai", PlatformResponseStatus.Success, 0.002m, 20, 10, mentioned: false, cited: false));
        Job(run, Globex, AnalysisJobStatus.Running, Now.AddHours(-4),
            Response("openai", PlatformResponseStatus.Success, 0.0001m, 1, 1, mentioned: false, cited: true));
        Job(run, Globex, AnalysisJobStatus.Pending, Now.AddHours(-5));
        Job(run, Globex, AnalysisJobStatus.Failed, LongAgo,
            Response("openai", PlatformResponseStatus.Success, 5m, 1000, 1000, mentioned: true, cited: true));

        await using var scope = Api.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        db.AddRange(_rows);
        await db.SaveChangesAsync();
    }

    Task IAsyncLifetime.DisposeAsync() => Task.CompletedTask;

    public void Dispose() => Api.Dispose();

    private void Job(AnalysisRun run, Guid projectId, string status, DateTimeOffset createdAt, params PlatformResponse[] responses)
    {
        var job = new AnalysisJob
        {
            Id = Guid.NewGuid(), RunId = run.Id, PromptId = Guid.NewGuid(), ProjectId = projectId, PromptText = "best anvils?",
            Platforms = [.. responses.Select(r => r.Platform)], Status = status, TotalPlatforms = responses.Length, CreatedAt = createdAt,
        };
        _rows.Add(job);
        foreach (var response in responses)
        {
            response.AnalysisJobId = job.Id;
            response.PromptId = job.PromptId;
            response.ProjectId = projectId;
            response.CreatedAt = createdAt;
            _rows.Add(response);
        }
    }

    private static PlatformResponse Response(string platform, string status, decimal? cost, long? input, long? output, bool? mentioned, bool? cited) => new()
    {
        Id = Guid.NewGuid(), Platform = platform, Status = status, Cost = cost, InputTokens = input, OutputTokens = output,
        TotalTokens = input + output, BrandMentioned = mentioned, DomainCited = cited, PromptText = "best anvils?", Attempts = 1,
    };

}

public sealed class When_the_assistant_is_asked_about_prompt_analyses(SeededAnalysesApi seeded) : IClassFixture<SeededAnalysesApi>
{
    private readonly HttpClient _client = seeded.Api.CreateClient();

    [Fact]
    public async Task Should_count_the_analyses_of_the_period_by_status()
    {
        var answer = await AskAsync("How many prompt analyses failed in the last 7 days?");

        var count = Call(answer, "count_prompt_analyses");
        Assert.Equal("last_7_days", count.GetProperty("arguments").GetProperty("period").GetString());
        var result = count.GetProperty("result");
        Assert.Equal(5, result.GetProperty("total").GetInt32());
        Assert.Equal(2, result.GetProperty("byStatus").GetProperty("completed").GetInt32());
        Assert.Equal(1, result.GetProperty("byStatus").GetProperty("failed").GetInt32());
        Assert.Equal(1, result.GetProperty("byStatus").GetProperty("running").GetInt32());
        Assert.Equal(1, result.GetProperty("byStatus").GetProperty("pending").GetInt32());
        Assert.Contains("Prompt analyses created in the last 7 days: 5 (2 completed", answer.GetProperty("answer").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_sum_cost_and_tokens_per_platform_for_the_period()
    {
        var answer = await AskAsync("What did we spend in the last 7 days?");

        var result = Call(answer, "prompt_analysis_costs").GetProperty("result");
        var platforms = result.GetProperty("byPlatform").EnumerateArray().ToDictionary(p => p.GetProperty("platform").GetString()!);
        Assert.Equal(new[] { "claude", "openai" }, platforms.Keys.Order(StringComparer.Ordinal).ToArray());

        var openAi = platforms["openai"];
        Assert.Equal(0.00433456m, openAi.GetProperty("cost").GetDecimal());
        Assert.Equal(4, openAi.GetProperty("responses").GetInt32());
        Assert.Equal(4, openAi.GetProperty("succeeded").GetInt32());
        Assert.Equal(131, openAi.GetProperty("inputTokens").GetInt64());
        Assert.Equal(66, openAi.GetProperty("outputTokens").GetInt64());

        var claude = platforms["claude"];
        Assert.Equal(0.0025m, claude.GetProperty("cost").GetDecimal());
        Assert.Equal(2, claude.GetProperty("responses").GetInt32());
        Assert.Equal(1, claude.GetProperty("failed").GetInt32());
        Assert.Equal(200, claude.GetProperty("inputTokens").GetInt64());

        Assert.Equal(0.00683456m, result.GetProperty("totalCost").GetDecimal());
        Assert.Contains("$0.00683456 in all", answer.GetProperty("answer").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_give_the_share_of_successful_answers_that_mention_the_brand_or_cite_its_domain()
    {
        var answer = await AskAsync("How visible is our brand in the last 7 days?");

        var rows = Call(answer, "brand_visibility").GetProperty("result").GetProperty("rows").EnumerateArray()
            .ToDictionary(r => r.GetProperty("project").GetString() + "/" + r.GetProperty("platform").GetString());
        Assert.Equal(new[] { "Acme/claude", "Acme/openai", "Globex/openai" }, rows.Keys.ToArray());

        var acmeOpenAi = rows["Acme/openai"];
        Assert.Equal(3, acmeOpenAi.GetProperty("successfulResponses").GetInt32());
        Assert.Equal(2, acmeOpenAi.GetProperty("brandMentioned").GetInt32());
        Assert.Equal(1, acmeOpenAi.GetProperty("domainCited").GetInt32());
        Assert.Equal(0.6667, acmeOpenAi.GetProperty("mentionShare").GetDouble());
        Assert.Equal(0.3333, acmeOpenAi.GetProperty("citationShare").GetDouble());

        // The failed answer is not an answer that could have mentioned the brand.
        Assert.Equal(1, rows["Acme/claude"].GetProperty("successfulResponses").GetInt32());
        Assert.Equal(1.0, rows["Acme/claude"].GetProperty("mentionShare").GetDouble());
        Assert.Equal(0, rows["Globex/openai"].GetProperty("brandMentioned").GetInt32());
        Assert.Equal(1, rows["Globex/openai"].GetProperty("domainCited").GetInt32());
        Assert.Contains("Acme on openai: brand mentioned in 2 of 3 answers", answer.GetProperty("answer").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_narrow_brand_visibility_to_one_project_and_refuse_an_id_that_is_not_a_uuid()
    {
        await using var scope = seeded.Api.Services.CreateAsyncScope();
        var tool = scope.ServiceProvider.GetRequiredService<AssistantToolRegistry>().Find("brand_visibility")!;
        var function = new AssistantToolFunction(tool, NullLogger.Instance);

        var narrowed = await InvokeAsync(function, $$"""{"period":"all","from":null,"to":null,"project_id":"{{seeded.Globex}}"}""");
        var rows = narrowed.Json!.Value.GetProperty("rows").EnumerateArray().ToList();
        var globex = Assert.Single(rows);
        Assert.Equal(seeded.Globex, globex.GetProperty("projectId").GetGuid());
        Assert.Equal(2, globex.GetProperty("successfulResponses").GetInt32());
        Assert.Equal(1, globex.GetProperty("brandMentioned").GetInt32());

        var refused = await InvokeAsync(function, """{"period":"all","from":null,"to":null,"project_id":"acme"}""");
        Assert.Null(refused.Json);
        Assert.Contains("must be a uuid", refused.Error, StringComparison.Ordinal);
    }

    private static async Task<AssistantToolResult> InvokeAsync(AssistantToolFunction function, string arguments) =>
        (AssistantToolResult)(await function.InvokeAsync(new AIFunctionArguments(JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments))))!;

    private static JsonElement Call(JsonElement answer, string name) =>
        answer.GetProperty("toolCalls").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private async Task<JsonElement> AskAsync(string prompt)
    {
        using var response = await _client.PostAsJsonAsync("/ai/ask", new { prompt });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
