using MassTransit;
using MassTransit.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Core.Http;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Messaging;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.PromptAnalyses;
using Sagas.PromptAnalyses.Calls;
using Sagas.PromptAnalyses.Consumers;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Platforms;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.PromptAnalyses;

/// <summary>A platform that holds every call until released, counting the calls that reached it from any worker.</summary>
public sealed class HeldPlatform : IPlatformCaller
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public void Release() => _release.TrySetResult();

    public async Task<PlatformCallOutcome> CallAsync(string platform, string prompt, string? model, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        await _release.Task.WaitAsync(cancellationToken);
        var now = DateTimeOffset.UtcNow;
        return PlatformCallOutcome.Success(new PlatformAnswer
        {
            Platform = platform,
            IsSimulated = true,
            Model = "held-1",
            Text = "Acme makes the best anvils.",
            InputTokens = 10,
            OutputTokens = 20,
            TotalTokens = 30,
            ExecutionTime = TimeSpan.FromMilliseconds(5),
            Citations = [],
            Metadata = new AnswerMetadata { Simulated = true },
            RateLimit = RateLimitSnapshot.None(now),
        }, 1);
    }
}

/// <summary>A platform that answers after a random wait, counting calls per prompt.</summary>
public sealed class SlowPlatform : IPlatformCaller
{
    public System.Collections.Concurrent.ConcurrentDictionary<string, int> CallsPerPrompt { get; } = new(StringComparer.Ordinal);

    public async Task<PlatformCallOutcome> CallAsync(string platform, string prompt, string? model, CancellationToken cancellationToken)
    {
        CallsPerPrompt.AddOrUpdate(prompt, 1, (_, calls) => calls + 1);
        await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(0, 80)), cancellationToken);
        return PlatformCallOutcome.Success(new PlatformAnswer
        {
            Platform = platform,
            IsSimulated = true,
            Model = "slow-1",
            Text = "Acme makes the best anvils.",
            InputTokens = 10,
            OutputTokens = 20,
            TotalTokens = 30,
            ExecutionTime = TimeSpan.FromMilliseconds(5),
            Citations = [],
            Metadata = new AnswerMetadata { Simulated = true },
            RateLimit = RateLimitSnapshot.None(DateTimeOffset.UtcNow),
        }, 1);
    }
}

/// <summary>One worker process's consumer of asks: its own container, its own bus, the shared database.</summary>
public sealed class AskWorker : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private AskWorker(ServiceProvider provider, ITestHarness harness)
    {
        _provider = provider;
        Harness = harness;
    }

    public ITestHarness Harness { get; }

    public static async Task<AskWorker> StartAsync(PostgresDatabase database, IPlatformCaller platform)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = database.ConnectionString,
        }).Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging()
            .AddDbContext<SagasDbContext>(builder => PersistenceRegistration.Configure(builder, DatabaseProvider.PostgreSql, database.ConnectionString, SagasWorkflows.Model))
            .AddSagasOutbox(configuration, SagasWorkflows.Catalog.Assemblies)
            .AddPromptAnalyses(configuration)
            .AddSingleton(platform)
            .AddMassTransitTestHarness(x => x.AddConsumer<AskPromptPlatformConsumer, AskPromptPlatformConsumerDefinition>());
        var provider = services.BuildServiceProvider(validateScopes: true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        return new AskWorker(provider, harness);
    }

    /// <summary>Deliveries of asks this worker finished, successfully or not.</summary>
    public int Finished => Harness.Consumed.Now<AskPromptPlatform>().Count();

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        await _provider.DisposeAsync();
    }
}

/// <summary>
/// Two worker processes on one database each receive a copy of one ask (a redelivery, or a duplicate publish) while the
/// first is still waiting for the platform. The claim on the response row, not anything in one process, decides that the
/// platform is asked once.
/// </summary>
public sealed class When_two_workers_get_the_same_ask_at_once : IClassFixture<PostgresDatabase>
{
    private readonly PostgresDatabase _database;

    public When_two_workers_get_the_same_ask_at_once(PostgresDatabase database) => _database = database;

    [ServerFact(postgres: true, rabbitMq: false)]
    public async Task Should_ask_the_platform_once_and_count_one_answer()
    {
        var platform = new HeldPlatform();
        var job = await SeedJobAsync();
        await using var first = await AskWorker.StartAsync(_database, platform);
        await using var second = await AskWorker.StartAsync(_database, platform);
        try
        {
            await first.Harness.Bus.Publish(new AskPromptPlatform(job, "openai"));
            await WaitUntilAsync(() => platform.Calls == 1, "the first worker calling the platform");
            await second.Harness.Bus.Publish(new AskPromptPlatform(job, "openai"));
            // The copy is done with: finished without a call, or (without a claim) at the platform as well.
            await WaitUntilAsync(() => second.Finished == 1 || platform.Calls > 1, "the second worker done with its copy");
        }
        finally
        {
            platform.Release();
        }

        await WaitUntilAsync(() => first.Finished == 1 && second.Finished == 1, "both deliveries finished");
        Assert.Equal(1, platform.Calls);
        await using var db = _database.NewContext();
        var response = await db.Set<PlatformResponse>().AsNoTracking().SingleAsync(r => r.AnalysisJobId == job);
        Assert.Equal(PlatformResponseStatus.Success, response.Status);
        var stored = await db.Set<AnalysisJob>().AsNoTracking().SingleAsync(j => j.Id == job);
        Assert.Equal((1, 1, 0), (stored.TotalPlatforms, stored.CompletedPlatforms, stored.FailedPlatforms));
        var answered = await db.Set<OutboxMessage>().AsNoTracking()
            .CountAsync(m => m.MessageType == typeof(PromptPlatformAnswered).FullName && m.Body.Contains(job.ToString()));
        Assert.Equal(1, answered);
        Assert.DoesNotContain(first.Harness.Consumed.Now<AskPromptPlatform>().Concat(second.Harness.Consumed.Now<AskPromptPlatform>()), c => c.Exception is not null);
    }

    [ServerFact(postgres: true, rabbitMq: false)]
    public async Task Should_ask_once_per_analysis_whatever_the_timing_of_the_copies()
    {
        const int Rounds = 30;
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var platform = new SlowPlatform();
        await using var first = await AskWorker.StartAsync(_database, platform);
        await using var second = await AskWorker.StartAsync(_database, platform);
        var jobs = new List<(Guid Job, string Prompt)>();
        for (var round = 0; round < Rounds; round++)
        {
            var prompt = $"best anvil supplier {round} {Guid.NewGuid():N}";
            var job = await SeedJobAsync(prompt);
            jobs.Add((job, prompt));

            // One copy to each worker, the second at a random offset: before, during or after the first one's call.
            var (early, late) = random.Next(2) == 0 ? (first, second) : (second, first);
            await early.Harness.Bus.Publish(new AskPromptPlatform(job, "openai"));
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(0, 100)));
            await late.Harness.Bus.Publish(new AskPromptPlatform(job, "openai"));
        }

        await WaitUntilAsync(() => first.Finished + second.Finished == 2 * Rounds, "every copy finished");
        var twice = jobs.Where(j => platform.CallsPerPrompt.GetValueOrDefault(j.Prompt) != 1).Select(j => $"{j.Prompt}×{platform.CallsPerPrompt.GetValueOrDefault(j.Prompt)}").ToList();
        Assert.True(twice.Count == 0, $"seed {seed}: asked other than once: {string.Join(", ", twice)}");
        await using var db = _database.NewContext();
        var ids = jobs.Select(j => j.Job).ToList();
        var stored = await db.Set<AnalysisJob>().AsNoTracking().Where(j => ids.Contains(j.Id)).ToListAsync();
        Assert.All(stored, j => Assert.Equal((1, 1, 0), (j.TotalPlatforms, j.CompletedPlatforms, j.FailedPlatforms)));
        var responses = await db.Set<PlatformResponse>().AsNoTracking().Where(r => ids.Contains(r.AnalysisJobId)).ToListAsync();
        Assert.Equal(Rounds, responses.Count);
        Assert.All(responses, r => Assert.Equal(PlatformResponseStatus.Success, r.Status));
        Assert.DoesNotContain(first.Harness.Consumed.Now<AskPromptPlatform>().Concat(second.Harness.Consumed.Now<AskPromptPlatform>()), c => c.Exception is not null);
    }

    private async Task<Guid> SeedJobAsync(string promptText = "best anvil supplier")
    {
        await using var db = _database.NewContext();
        await db.Database.MigrateAsync();
        var now = DateTimeOffset.UtcNow;
        var project = new AnalysisProject { Id = NewId.NextGuid(), Name = "Acme", BrandNames = ["Acme"], Domains = ["acme.com"], CreatedAt = now, UpdatedAt = now };
        var prompt = new TrackedPrompt { Id = NewId.NextGuid(), ProjectId = project.Id, Text = promptText, Platforms = ["openai"], CreatedAt = now, UpdatedAt = now };
        var run = new AnalysisRun { Id = NewId.NextGuid(), RunKey = "claim-spec:" + Guid.NewGuid(), Scope = AnalysisRunScope.Project, ProjectId = project.Id, CreatedAt = now };
        var job = new AnalysisJob
        {
            Id = NewId.NextGuid(), RunId = run.Id, PromptId = prompt.Id, ProjectId = project.Id,
            PromptText = promptText, Platforms = ["openai"], TotalPlatforms = 1, Status = AnalysisJobStatus.Running,
            CreatedAt = now, StartedAt = now,
        };
        db.AddRange(project, prompt, run, job);
        await db.SaveChangesAsync();
        return job.Id;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }
}
