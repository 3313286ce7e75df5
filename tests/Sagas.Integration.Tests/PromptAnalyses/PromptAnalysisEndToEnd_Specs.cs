using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;
using Sagas.Integration.Tests.Transports.AmazonSqs;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Runs;
using Sagas.PromptAnalyses.StateMachines;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.PromptAnalyses;

/// <summary>Delivers every ask a second time, as a broker redelivery would.</summary>
public sealed class AskEchoConsumer : IConsumer<AskPromptPlatform>
{
    public const string Header = "x-spec-echo";

    public async Task Consume(ConsumeContext<AskPromptPlatform> context)
    {
        if (context.Headers.TryGetHeader(Header, out _))
            return;
        await context.Publish(context.Message, publish => publish.Headers.Set(Header, "1"));
    }
}

public sealed class When_a_prompt_analysis_run_goes_through_rabbitmq_and_postgresql(TransportServers<RabbitMqTestTransport> servers)
    : PromptAnalysisEndToEndSpecs<RabbitMqTestTransport>(servers);

public sealed class When_a_prompt_analysis_run_goes_through_amazon_sqs_and_postgresql(TransportServers<AmazonSqsTestTransport> servers)
    : PromptAnalysisEndToEndSpecs<AmazonSqsTestTransport>(servers);

/// <summary>The prompt-analysis end-to-end spec, one body for every transport (a class per transport above).</summary>
public abstract class PromptAnalysisEndToEndSpecs<TTransport>(TransportServers<TTransport> servers)
    : IClassFixture<TransportServers<TTransport>>
    where TTransport : class, ITestTransport, new()
{
    private const int Cap = 2;
    private const int Prompts = 12;

    [TransportFact]
    public async Task Should_analyse_each_prompt_on_each_platform_once_under_the_cap_although_asks_arrive_twice()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(servers.Transport.HostSettings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = servers.Database.ConnectionString,
            ["Worker:Roles"] = "prompt-analyses",
            ["PromptAnalyses:MaxConcurrentAnalyses"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PromptAnalyses:Platforms:Simulated:MinLatencyMs"] = "10",
            ["PromptAnalyses:Platforms:Simulated:MaxLatencyMs"] = "60",
            ["PromptAnalyses:Platforms:Simulated:FailureRate"] = "0.3",
            ["PromptAnalyses:Platforms:Simulated:RateLimitRate"] = "0",

            // Without retries each simulated failure stays a failure, so the run has failed platforms to count;
            // the retry policy has specs of its own.
            ["PromptAnalyses:Limits:Retry:MaxRetries"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddSagas("prompt-analysis-specs", SagasWorkflows.Catalog, x => x.AddConsumer<AskEchoConsumer>().Endpoint(e => e.Name = "prompt-spec-echo"));
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var projectId = await SeedAsync(host.Services);
            StartedRun run;
            await using (var scope = host.Services.CreateAsyncScope())
            {
                run = await scope.ServiceProvider.GetRequiredService<PromptAnalysisRunStarter>()
                    .StartOnDemandAsync(new RunRequest(AnalysisRunScope.Project, projectId, null, false, "specs"), CancellationToken.None);
            }

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(180);
            var maxRunning = 0;
            while (true)
            {
                var counts = await QueryAsync(host.Services, db => db.Set<AnalysisJob>().Where(j => j.RunId == run.RunId)
                    .GroupBy(j => j.Status).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count));
                maxRunning = Math.Max(maxRunning, counts.GetValueOrDefault(AnalysisJobStatus.Running));
                if (counts.GetValueOrDefault(AnalysisJobStatus.Completed) + counts.GetValueOrDefault(AnalysisJobStatus.Failed) == Prompts)
                    break;
                Assert.True(DateTime.UtcNow < deadline, $"The run did not finish: {string.Join(", ", counts)}");
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            }

            Assert.InRange(maxRunning, 0, Cap);
            var jobs = await QueryAsync(host.Services, db => db.Set<AnalysisJob>().Where(j => j.RunId == run.RunId).ToListAsync());
            var responses = await QueryAsync(host.Services, db => db.Set<PlatformResponse>().Where(r => jobs.Select(j => j.Id).Contains(r.AnalysisJobId)).ToListAsync());
            var citations = await QueryAsync(host.Services, db => db.Set<ResponseCitation>().CountAsync());
            Assert.Equal(Prompts * 4, responses.Count);
            Assert.DoesNotContain(responses, r => r.Status == PlatformResponseStatus.Processing);
            foreach (var job in jobs)
            {
                var mine = responses.Where(r => r.AnalysisJobId == job.Id).ToList();
                var succeeded = mine.Count(r => r.Status == PlatformResponseStatus.Success);
                Assert.Equal(["claude", "gemini", "openai", "perplexity"], mine.Select(r => r.Platform).Order());
                Assert.Equal((4, succeeded, 4 - succeeded), (job.TotalPlatforms, job.CompletedPlatforms, job.FailedPlatforms));
                Assert.Equal(succeeded > 0 ? AnalysisJobStatus.Completed : AnalysisJobStatus.Failed, job.Status);
                Assert.NotNull(job.StartedAt);
                Assert.NotNull(job.CompletedAt);
            }

            Assert.All(responses.Where(r => r.Status == PlatformResponseStatus.Success), r =>
            {
                Assert.True(r.TotalTokens > 0);
                Assert.NotNull(r.BrandMentioned);
                Assert.NotNull(r.MetadataJson);
            });
            Assert.All(responses.Where(r => r.Status == PlatformResponseStatus.Error), r => Assert.False(string.IsNullOrEmpty(r.ErrorMessage)));
            Assert.Contains(responses, r => r.Status == PlatformResponseStatus.Error);
            Assert.True(citations > 0);
            // The run's own finish follows its last analysis's (a separate commit), so it is waited for, not assumed.
            AnalysisRun finishedRun;
            while ((finishedRun = await QueryAsync(host.Services, db => db.Set<AnalysisRun>().AsNoTracking().SingleAsync(r => r.Id == run.RunId))).FinishedAt is null)
            {
                Assert.True(DateTime.UtcNow < deadline, "The run's analyses all finished but the run did not record its finish.");
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            }

            Assert.Equal(
                (Prompts, jobs.Count(j => j.Status == AnalysisJobStatus.Completed), jobs.Count(j => j.Status == AnalysisJobStatus.Failed)),
                (finishedRun.TotalAnalyses, finishedRun.CompletedAnalyses, finishedRun.FailedAnalyses));
            var sagas = await QueryAsync(host.Services, db => db.Set<PromptAnalysisState>().Where(s => s.RunId == run.RunId).ToListAsync());
            Assert.Equal(Prompts, sagas.Count);
            Assert.All(sagas, saga => Assert.Contains(saga.CurrentState, new[] { "Completed", "Failed" }));
        }
        finally
        {
            await host.StopAsync();
        }
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
            Id = Guid.NewGuid(), ProjectId = project.Id, Text = $"Which anvil brand is best? #{i}", Active = true,
            Platforms = ["openai", "claude", "gemini", "perplexity"], CreatedAt = now, UpdatedAt = now,
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
