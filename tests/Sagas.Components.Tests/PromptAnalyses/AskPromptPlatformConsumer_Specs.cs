using MassTransit;
using MassTransit.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.PromptAnalyses.Calls;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Core.Http;
using Sagas.Messaging;
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
        await WaitUntilAsync(() => harness.Consumed.Select<AskPromptPlatform>().Count() == 1 || _caller.Calls > 1);
        _caller.Release();
        await WaitUntilAsync(() => harness.Consumed.Select<AskPromptPlatform>().Count() == 2);

        Assert.Equal(1, _caller.Calls);
        await using var scope = _provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var response = await db.Set<PlatformResponse>().SingleAsync(r => r.AnalysisJobId == job);
        Assert.Equal(PlatformResponseStatus.Success, response.Status);
        var stored = await db.Set<AnalysisJob>().SingleAsync(j => j.Id == job);
        Assert.Equal((1, 1, 0), (stored.TotalPlatforms, stored.CompletedPlatforms, stored.FailedPlatforms));
        Assert.DoesNotContain(harness.Consumed.Select<AskPromptPlatform>(), c => c.Exception is not null);
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
