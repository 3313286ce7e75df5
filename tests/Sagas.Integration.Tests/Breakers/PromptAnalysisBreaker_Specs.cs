using System.Collections.Concurrent;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Components.Tests.Breakers;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Components.Tests.PromptAnalyses.Platforms;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;
using Sagas.Modules.Breakers;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Runs;
using Sagas.PromptAnalyses.StateMachines;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Breakers;

/// <summary>
/// A prompt-analysis run against an OpenAI stub that answers 500 until the spec lets it recover, with the breakers on:
/// the whole workflow (RabbitMQ, PostgreSQL, the scheduler that brings deferred asks back, the saga, the caller's
/// retries) meets the breaker the way production would.
/// </summary>
[Collection(BreakerEndToEnd.Collection)]
public sealed class When_a_prompt_analysis_meets_a_failing_platform_with_breakers_on(PostgresDatabase database, RabbitMqTestTransport broker)
    : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqTestTransport>
{
    private const int Prompts = 4;

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_defer_the_asks_while_open_and_complete_each_once_after_a_probe_closes_it()
    {
        var failing = true;
        var inFlight = 0;
        var failed = new ConcurrentQueue<string>();
        var answered = new ConcurrentQueue<string>();
        await using var stub = await HttpStub.StartAsync(app => app.MapPost("/v1/responses", async (HttpContext context) =>
        {
            Interlocked.Increment(ref inFlight);
            try
            {
                using var reader = new StreamReader(context.Request.Body);
                var body = await reader.ReadToEndAsync();
                var prompt = System.Text.RegularExpressions.Regex.Match(body, "anvil-[0-9]+").Value;
                if (Volatile.Read(ref failing))
                {
                    failed.Enqueue(prompt);
                    context.Response.StatusCode = 500;
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync("""{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}""");
                    return;
                }

                answered.Enqueue(prompt);
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(ProviderShapes.OpenAiResponseWithWebSearch);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        }));

        using var watch = new BreakerWatch();
        using var host = BuildHost(stub.BaseAddress);
        await host.StartAsync();
        try
        {
            var breakers = host.Services.GetRequiredService<ProviderBreakers>();
            var projectId = await SeedAsync(host.Services);
            StartedRun run;
            await using (var scope = host.Services.CreateAsyncScope())
            {
                run = await scope.ServiceProvider.GetRequiredService<PromptAnalysisRunStarter>()
                    .StartOnDemandAsync(new RunRequest(AnalysisRunScope.Project, projectId, null, false, "specs"), CancellationToken.None);
            }

            // Three failures in a row open it (the caller's retries wait a second, longer than a report interval).
            BreakerRecord? record = null;
            await BreakerWatch.UntilAsync(async () => (record = await OpenAiBreakerAsync(breakers)) is { State: BreakerState.Open }, TimeSpan.FromSeconds(60),
                () => $"the openai breaker to open (now {record?.State}, stub saw {failed.Count} failures)");
            // Asks sent before it opened may still be at the stub: they count as failures before it, not through it.
            await BreakerWatch.UntilAsync(() => Volatile.Read(ref inFlight) == 0, TimeSpan.FromSeconds(30), () => $"the calls sent before it opened to end ({Volatile.Read(ref inFlight)} at the stub)");
            var failuresWhenOpened = failed.Count;
            Assert.InRange(failuresWhenOpened, 3, Prompts * 4);

            // Every ask comes back and is turned away without reaching the stub: no retry is spent on a turned-away call.
            // An attempt that passed this process's breaker check just before the process learnt of the open (the
            // cluster record opens first) may still reach the stub: at most one per ask, and none once all were turned away.
            await BreakerWatch.UntilAsync(() => watch.Rejected("openai", "") >= Prompts, TimeSpan.FromSeconds(30),
                () => $"{Prompts} asks turned away (saw {watch.Rejected("openai", "")})");
            await BreakerWatch.UntilAsync(() => Volatile.Read(ref inFlight) == 0, TimeSpan.FromSeconds(30), () => $"the calls that passed the check before the open to end ({Volatile.Read(ref inFlight)} at the stub)");
            Assert.InRange(failed.Count - failuresWhenOpened, 0, Prompts);
            failuresWhenOpened = failed.Count;
            Assert.Empty(answered);
            Assert.Equal(BreakerState.Open, (await OpenAiBreakerAsync(breakers))!.State);

            // Deferred, not failed: the analyses are still asking and no response is recorded as an error.
            var sagas = await QueryAsync(host.Services, db => db.Set<PromptAnalysisState>().AsNoTracking().Where(s => s.RunId == run.RunId).Select(s => s.CurrentState).ToListAsync());
            Assert.Equal(Enumerable.Repeat("Asking", Prompts), sagas);
            var jobs = await QueryAsync(host.Services, db => db.Set<AnalysisJob>().AsNoTracking().Where(j => j.RunId == run.RunId).ToListAsync());
            Assert.All(jobs, job => Assert.Equal(AnalysisJobStatus.Running, job.Status));
            var jobIds = jobs.Select(j => j.Id).ToList();
            Assert.False(await QueryAsync(host.Services, db => db.Set<PlatformResponse>().AnyAsync(r => jobIds.Contains(r.AnalysisJobId) && r.Status == PlatformResponseStatus.Error)));

            // The stub recovers while the breaker is still open: after the break one probe goes, succeeds and closes it.
            Volatile.Write(ref failing, false);
            await BreakerWatch.UntilAsync(
                async () => await QueryAsync(host.Services, db => db.Set<AnalysisJob>().CountAsync(j => j.RunId == run.RunId && j.Status == AnalysisJobStatus.Completed)) == Prompts,
                TimeSpan.FromSeconds(90), () => $"{Prompts} completed analyses (stub answered {answered.Count})");

            record = await OpenAiBreakerAsync(breakers);
            Assert.Equal(BreakerState.Closed, record!.State);
            var transitions = await breakers.TransitionsAsync(10, CancellationToken.None);
            Assert.Equal(
                [(BreakerState.Closed, BreakerState.Open), (BreakerState.Open, BreakerState.HalfOpen), (BreakerState.HalfOpen, BreakerState.Closed)],
                transitions.Where(t => t.Key == new BreakerKey("openai", "")).Reverse().Select(t => (t.From, t.To)));

            // Exact counts: each prompt answered once, nothing failed, and the failures all came before the breaker opened.
            Assert.Equal(failuresWhenOpened, failed.Count);
            Assert.Equal(Enumerable.Range(0, Prompts).Select(i => $"anvil-{i}"), answered.Order());
            var responses = await QueryAsync(host.Services, db => db.Set<PlatformResponse>().AsNoTracking().Where(r => jobIds.Contains(r.AnalysisJobId)).ToListAsync());
            Assert.Equal(Prompts, responses.Count);
            Assert.All(responses, r => Assert.Equal(PlatformResponseStatus.Success, r.Status));
            jobs = await QueryAsync(host.Services, db => db.Set<AnalysisJob>().AsNoTracking().Where(j => j.RunId == run.RunId).ToListAsync());
            Assert.All(jobs, job => Assert.Equal((1, 1, 0), (job.TotalPlatforms, job.CompletedPlatforms, job.FailedPlatforms)));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static async Task<BreakerRecord?> OpenAiBreakerAsync(ProviderBreakers breakers) =>
        (await breakers.ListAsync(CancellationToken.None)).SingleOrDefault(r => r.Key == new BreakerKey("openai", ""));

    private IHost BuildHost(Uri stub)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(broker.HostSettings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = database.ConnectionString,
            // The scheduler role brings deferred asks back.
            ["Worker:Roles"] = "all",
            ["PromptAnalyses:MaxConcurrentAnalyses"] = Prompts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PromptAnalyses:Platforms:Simulated:Enabled"] = "false",
            ["PromptAnalyses:Platforms:OpenAi:Enabled"] = "true",
            ["PromptAnalyses:Platforms:OpenAi:BaseUrl"] = stub.ToString(),
            ["PromptAnalyses:Platforms:OpenAi:ApiKey"] = "sk-breaker-loopback",
            ["PromptAnalyses:Limits:Retry:MaxRetries"] = "3",
            ["PromptAnalyses:Limits:Retry:BaseDelayMs"] = "1000",
            ["Breakers:Enabled"] = "true",
            ["Breakers:ReportInterval"] = "00:00:00.100",
            ["Breakers:Defaults:ConsecutiveFailures"] = "3",
            ["Breakers:Defaults:FailureRatio"] = "0",
            // Long enough for every deferred ask to come back and be turned away while the stub still fails.
            ["Breakers:Defaults:BreakDuration"] = "00:00:06",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddSagas("prompt-analysis-breaker-specs", SagasWorkflows.Catalog);
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        return builder.Build();
    }

    private static async Task<Guid> SeedAsync(IServiceProvider services)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var now = DateTimeOffset.UtcNow;
        var project = new AnalysisProject { Id = Guid.NewGuid(), Name = "Acme", BrandNames = ["Acme"], Domains = ["example.com"], CreatedAt = now, UpdatedAt = now };
        db.Add(project);
        db.AddRange(Enumerable.Range(0, Prompts).Select(i => new TrackedPrompt
        {
            Id = Guid.NewGuid(), ProjectId = project.Id, Text = $"Which brand is best, anvil-{i} or another?", Active = true,
            Platforms = ["openai"], CreatedAt = now, UpdatedAt = now,
        }));
        await db.SaveChangesAsync();
        return project.Id;
    }

    private static async Task<T> QueryAsync<T>(IServiceProvider services, Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }
}

/// <summary>The breaker end-to-end specs share the process-wide meter they count rejections on: one at a time.</summary>
[CollectionDefinition(Collection)]
public sealed class BreakerEndToEnd
{
    public const string Collection = "breakers end to end";
}
