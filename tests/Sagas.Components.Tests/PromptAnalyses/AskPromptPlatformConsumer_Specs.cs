using MassTransit;
using MassTransit.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Components.Tests.PromptAnalyses.Calls;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Core.Http;
using Sagas.Messaging;
using Sagas.Modules.Usage;
using Sagas.Persistence;
using Sagas.PromptAnalyses;
using Sagas.PromptAnalyses.Calls;
using Sagas.PromptAnalyses.Consumers;
using Sagas.PromptAnalyses.Data;
using Sagas.Workflows;

namespace Sagas.Components.Tests.PromptAnalyses;

/// <summary>A caller that holds every call until released, counting the calls that reached it.</summary>
internal sealed class HeldPlatformCaller : IPlatformCaller
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public void Release() => _release.TrySetResult();

    public async Task<PlatformCallOutcome> CallAsync(string platform, string prompt, string? model, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        await _release.Task.WaitAsync(cancellationToken);
        return PlatformCallOutcome.Success(ScriptedPlatform.Answer(platform, RateLimitSnapshot.None(DateTimeOffset.UtcNow)), 1);
    }
}

public sealed class When_an_ask_arrives_again_while_its_platform_is_still_answering : IAsyncDisposable
{
    private readonly SqliteConnection _keeper;
    private readonly string _database = $"Data Source=file:ask-{Guid.NewGuid():N}?mode=memory&cache=shared";
    private readonly HeldPlatformCaller _caller = new();
    private readonly ServiceProvider _provider;

    public When_an_ask_arrives_again_while_its_platform_is_still_answering()
    {
        // Each context opens its own connection to one shared in-memory database; the keeper keeps it alive.
        _keeper = new SqliteConnection(_database);
        _keeper.Open();
        _provider = new ServiceCollection()
            .AddDbContext<SagasDbContext>(builder => PersistenceRegistration.Configure(builder, DatabaseProvider.Sqlite, _database, SagasWorkflows.Model))
            .AddSagasOutbox(new ConfigurationBuilder().Build(), SagasWorkflows.Catalog.Assemblies)
            .AddSingleton(TimeProvider.System)
            .AddSingleton(new PromptAnalysesOptions())
            .AddModelUsage(new ConfigurationBuilder().Build())
            .AddScoped<PlatformResponseRecorder>()
            .AddSingleton<IPlatformCaller>(_caller)
            .AddMassTransitTestHarness(x => x.AddConsumer<AskPromptPlatformConsumer, AskPromptPlatformConsumerDefinition>())
            .BuildServiceProvider(true);
    }

    [Fact]
    public async Task Should_ask_the_platform_once_and_count_one_answer()
    {
        var job = await SeedJobAsync();
        var harness = _provider.GetRequiredService<ITestHarness>();
        await harness.Start();

        await harness.Bus.Publish(new AskPromptPlatform(job, "openai"));
        await WaitUntilAsync(() => _caller.Calls == 1);
        await harness.Bus.Publish(new AskPromptPlatform(job, "openai"));
        // The duplicate is done with: it found the row claimed, or (without a claim) it is at the provider as well.
        await WaitUntilAsync(() => harness.Consumed.Now<AskPromptPlatform>().Count() == 1 || _caller.Calls > 1);
        _caller.Release();
        await WaitUntilAsync(() => harness.Consumed.Now<AskPromptPlatform>().Count() == 2);

        Assert.Equal(1, _caller.Calls);
        await using var scope = _provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var response = await db.Set<PlatformResponse>().SingleAsync(r => r.AnalysisJobId == job);
        Assert.Equal(PlatformResponseStatus.Success, response.Status);
        var stored = await db.Set<AnalysisJob>().SingleAsync(j => j.Id == job);
        Assert.Equal((1, 1, 0), (stored.TotalPlatforms, stored.CompletedPlatforms, stored.FailedPlatforms));
        Assert.DoesNotContain(harness.Consumed.Now<AskPromptPlatform>(), c => c.Exception is not null);
    }

    public async ValueTask DisposeAsync()
    {
        _caller.Release();
        await _provider.DisposeAsync();
        await _keeper.DisposeAsync();
    }

    private async Task<Guid> SeedJobAsync()
    {
        await using var scope = _provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        await db.Database.EnsureCreatedAsync();
        var now = DateTimeOffset.UtcNow;
        var project = new AnalysisProject { Id = NewId.NextGuid(), Name = "Acme", BrandNames = ["Acme"], Domains = ["acme.com"], CreatedAt = now, UpdatedAt = now };
        var prompt = new TrackedPrompt { Id = NewId.NextGuid(), ProjectId = project.Id, Text = "best anvil supplier", Platforms = ["openai"], CreatedAt = now, UpdatedAt = now };
        var run = new AnalysisRun { Id = NewId.NextGuid(), RunKey = "spec", Scope = AnalysisRunScope.Project, ProjectId = project.Id, CreatedAt = now };
        db.AddRange(project, prompt, run);
        var job = new AnalysisJob
        {
            Id = NewId.NextGuid(), RunId = run.Id, PromptId = prompt.Id, ProjectId = project.Id,
            PromptText = "best anvil supplier", Platforms = ["openai"], TotalPlatforms = 1, Status = AnalysisJobStatus.Running,
            CreatedAt = now, StartedAt = now,
        };
        db.Add(job);
        await db.SaveChangesAsync();
        return job.Id;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
            await Task.Delay(TimeSpan.FromMilliseconds(20), deadline.Token);
    }
}

/// <summary>Asks already on their way when the analysis was cancelled reach no platform and leave no response row.</summary>
public sealed class When_an_ask_arrives_for_a_cancelled_analysis : IAsyncDisposable
{
    private readonly SqliteConnection _keeper;
    private readonly string _database = $"Data Source=file:ask-cancelled-{Guid.NewGuid():N}?mode=memory&cache=shared";
    private readonly HeldPlatformCaller _caller = new();
    private readonly ServiceProvider _provider;

    public When_an_ask_arrives_for_a_cancelled_analysis()
    {
        _keeper = new SqliteConnection(_database);
        _keeper.Open();
        _caller.Release();
        _provider = new ServiceCollection()
            .AddDbContext<SagasDbContext>(builder => PersistenceRegistration.Configure(builder, DatabaseProvider.Sqlite, _database, SagasWorkflows.Model))
            .AddSagasOutbox(new ConfigurationBuilder().Build(), SagasWorkflows.Catalog.Assemblies)
            .AddSingleton(TimeProvider.System)
            .AddSingleton(new PromptAnalysesOptions())
            .AddModelUsage(new ConfigurationBuilder().Build())
            .AddScoped<PlatformResponseRecorder>()
            .AddSingleton<IPlatformCaller>(_caller)
            .AddMassTransitTestHarness(x => x.AddConsumer<AskPromptPlatformConsumer, AskPromptPlatformConsumerDefinition>())
            .BuildServiceProvider(true);
    }

    [Fact]
    public async Task Should_not_call_the_platform()
    {
        await using (var scope = _provider.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<SagasDbContext>().Database.EnsureCreatedAsync();
        var cancelled = await SeedJobAsync(AnalysisJobStatus.Cancelled);
        var running = await SeedJobAsync(AnalysisJobStatus.Running);
        var harness = _provider.GetRequiredService<ITestHarness>();
        await harness.Start();

        await harness.Bus.Publish(new AskPromptPlatform(cancelled, "openai"));
        await harness.Bus.Publish(new AskPromptPlatform(running, "openai"));
        await WaitUntilAsync(() => harness.Consumed.Now<AskPromptPlatform>().Count() == 2);

        // Only the running analysis reached the platform.
        Assert.Equal(1, _caller.Calls);
        await using var check = _provider.CreateAsyncScope();
        var db = check.ServiceProvider.GetRequiredService<SagasDbContext>();
        Assert.False(await db.Set<PlatformResponse>().AnyAsync(r => r.AnalysisJobId == cancelled));
        Assert.Equal(PlatformResponseStatus.Success, (await db.Set<PlatformResponse>().SingleAsync(r => r.AnalysisJobId == running)).Status);
        Assert.DoesNotContain(harness.Consumed.Now<AskPromptPlatform>(), c => c.Exception is not null);
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        await _keeper.DisposeAsync();
    }

    private async Task<Guid> SeedJobAsync(string status)
    {
        await using var scope = _provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var now = DateTimeOffset.UtcNow;
        var project = new AnalysisProject { Id = NewId.NextGuid(), Name = "Acme", BrandNames = ["Acme"], Domains = ["acme.com"], CreatedAt = now, UpdatedAt = now };
        var prompt = new TrackedPrompt { Id = NewId.NextGuid(), ProjectId = project.Id, Text = "best anvil supplier", Platforms = ["openai"], CreatedAt = now, UpdatedAt = now };
        var run = new AnalysisRun { Id = NewId.NextGuid(), RunKey = $"spec-{Guid.NewGuid():N}", Scope = AnalysisRunScope.Project, ProjectId = project.Id, CreatedAt = now };
        db.AddRange(project, prompt, run);
        var job = new AnalysisJob
        {
            Id = NewId.NextGuid(), RunId = run.Id, PromptId = prompt.Id, ProjectId = project.Id,
            PromptText = "best anvil supplier", Platforms = ["openai"], TotalPlatforms = 1, Status = status,
            CreatedAt = now, StartedAt = now,
        };
        db.Add(job);
        await db.SaveChangesAsync();
        return job.Id;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
            await Task.Delay(TimeSpan.FromMilliseconds(20), deadline.Token);
    }
}

/// <summary>
/// The claim on a response row, step by step on SQLite with a fake clock: who may call the platform for it, and when a
/// holder that went away is replaced.
/// </summary>
public sealed class When_deliveries_claim_a_platform_response : IAsyncDisposable
{
    private readonly SqliteConnection _keeper;
    private readonly string _database = $"Data Source=file:ask-claim-{Guid.NewGuid():N}?mode=memory&cache=shared";
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-12-04T05:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly ServiceProvider _provider;

    public When_deliveries_claim_a_platform_response()
    {
        _keeper = new SqliteConnection(_database);
        _keeper.Open();
        _provider = new ServiceCollection()
            .AddDbContext<SagasDbContext>(builder => PersistenceRegistration.Configure(builder, DatabaseProvider.Sqlite, _database, SagasWorkflows.Model))
            .AddSagasOutbox(new ConfigurationBuilder().Build(), SagasWorkflows.Catalog.Assemblies)
            .AddSingleton<TimeProvider>(_clock)
            .AddSingleton(new PromptAnalysesOptions { AskClaimLease = TimeSpan.FromMinutes(15) })
            .AddLogging()
            .AddModelUsage(new ConfigurationBuilder().Build())
            .AddScoped<PlatformResponseRecorder>()
            .BuildServiceProvider(true);
    }

    [Fact]
    public async Task Should_let_only_the_holder_ask_until_its_lease_runs_out()
    {
        var job = await SeedJobAsync();
        Guid first = NewId.NextGuid(), second = NewId.NextGuid(), third = NewId.NextGuid();

        var claimed = await ClaimAsync(job, first);
        Assert.Equal(AskClaimOutcome.Claimed, claimed.Outcome);
        Assert.Equal(AskClaimOutcome.HeldElsewhere, (await ClaimAsync(job, second)).Outcome);
        // Its own redelivery (same message id) takes the claim back at once.
        Assert.Equal(AskClaimOutcome.Claimed, (await ClaimAsync(job, first)).Outcome);

        _clock.Advance(TimeSpan.FromMinutes(14));
        Assert.Equal(AskClaimOutcome.HeldElsewhere, (await ClaimAsync(job, second)).Outcome);
        _clock.Advance(TimeSpan.FromMinutes(2));
        var takenOver = await ClaimAsync(job, second);
        Assert.Equal((AskClaimOutcome.Claimed, claimed.ResponseId), (takenOver.Outcome, takenOver.ResponseId));

        // The first holder's late answer no longer counts; the one holding the row now does, once.
        Assert.False(await CompleteAsync(job, claimed.ResponseId, first));
        Assert.True(await CompleteAsync(job, claimed.ResponseId, second));
        Assert.False(await CompleteAsync(job, claimed.ResponseId, second));
        Assert.Equal(AskClaimOutcome.Final, (await ClaimAsync(job, third)).Outcome);

        await using var scope = _provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var response = await db.Set<PlatformResponse>().AsNoTracking().SingleAsync(r => r.AnalysisJobId == job.Id);
        Assert.Equal((PlatformResponseStatus.Success, (Guid?)null, (DateTimeOffset?)null), (response.Status, response.ClaimId, response.ClaimedUntil));
        var stored = await db.Set<AnalysisJob>().AsNoTracking().SingleAsync(j => j.Id == job.Id);
        Assert.Equal(1, stored.CompletedPlatforms);
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        await _keeper.DisposeAsync();
    }

    private async Task<AskClaim> ClaimAsync(AnalysisJob job, Guid claim)
    {
        await using var scope = _provider.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<PlatformResponseRecorder>().ClaimAsync(job, "openai", claim, CancellationToken.None);
    }

    private async Task<bool> CompleteAsync(AnalysisJob job, Guid responseId, Guid claim)
    {
        await using var scope = _provider.CreateAsyncScope();
        var outcome = PlatformCallOutcome.Success(ScriptedPlatform.Answer("openai", RateLimitSnapshot.None(_clock.GetUtcNow())), 1);
        return await scope.ServiceProvider.GetRequiredService<PlatformResponseRecorder>().CompleteAsync(job, responseId, "openai", claim, outcome, CancellationToken.None);
    }

    private async Task<AnalysisJob> SeedJobAsync()
    {
        await using var scope = _provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        await db.Database.EnsureCreatedAsync();
        var now = _clock.GetUtcNow();
        var project = new AnalysisProject { Id = NewId.NextGuid(), Name = "Acme", BrandNames = ["Acme"], Domains = ["acme.com"], CreatedAt = now, UpdatedAt = now };
        var prompt = new TrackedPrompt { Id = NewId.NextGuid(), ProjectId = project.Id, Text = "best anvil supplier", Platforms = ["openai"], CreatedAt = now, UpdatedAt = now };
        var run = new AnalysisRun { Id = NewId.NextGuid(), RunKey = "claim-spec", Scope = AnalysisRunScope.Project, ProjectId = project.Id, CreatedAt = now };
        var job = new AnalysisJob
        {
            Id = NewId.NextGuid(), RunId = run.Id, PromptId = prompt.Id, ProjectId = project.Id,
            PromptText = "best anvil supplier", Platforms = ["openai"], TotalPlatforms = 1, Status = AnalysisJobStatus.Running,
            CreatedAt = now, StartedAt = now,
        };
        db.AddRange(project, prompt, run, job);
        await db.SaveChangesAsync();
        return job;
    }
}
