using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;
using Sagas.Modules.Usage;
using Sagas.Modules.Usage.Budgets;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Runs;
using Sagas.PromptAnalyses.StateMachines;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.PromptAnalyses;

/// <summary>
/// A run of three prompts on four simulated platforms (each ask reserving 0.10) with a budget for three asks: its
/// analyses park the asks the budget refused, unasked, and the run finishes with every platform answered once after the
/// budget is raised.
/// </summary>
public sealed class When_a_prompt_analysis_run_runs_out_of_budget(TransportServers<RabbitMqTestTransport> servers) : IClassFixture<TransportServers<RabbitMqTestTransport>>
{
    private const int Prompts = 3;

    [ServerFact(postgres: true, rabbitMq: true)]
    public Task Should_park_refused_asks_unasked_and_finish_the_run_after_the_raise() => Should_park_and_finish(projectDay: false);

    /// <summary>The same with the project's budget for the day instead of the run's: any run of the project reserves on it.</summary>
    [ServerFact(postgres: true, rabbitMq: true)]
    public Task Should_park_refused_asks_under_the_project_budget_of_the_day_and_finish_after_the_raise() => Should_park_and_finish(projectDay: true);

    /// <summary>The run's budget given with its start (committed with the run), not set afterwards.</summary>
    [ServerFact(postgres: true, rabbitMq: true)]
    public Task Should_park_refused_asks_under_the_budget_the_run_started_with_and_finish_after_the_raise() => Should_park_and_finish(projectDay: false, atStart: true);

    private async Task Should_park_and_finish(bool projectDay, bool atStart = false)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(servers.Transport.HostSettings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = servers.Database.ConnectionString,
            ["Worker:Roles"] = "prompt-analyses",
            ["PromptAnalyses:MaxConcurrentAnalyses"] = "3",
            ["PromptAnalyses:Platforms:Simulated:MinLatencyMs"] = "10",
            ["PromptAnalyses:Platforms:Simulated:MaxLatencyMs"] = "50",
            ["PromptAnalyses:Platforms:Simulated:FailureRate"] = "0",
            ["PromptAnalyses:Platforms:Simulated:RateLimitRate"] = "0",
            ["Prices:0:Provider"] = "simulated",
            ["Prices:0:Model"] = "*",
            ["Prices:0:InputPerMillion"] = "0",
            ["Prices:0:OutputPerMillion"] = "1000",
            ["Prices:0:EffectiveFrom"] = "2026-11-23",
            ["Budgets:DefaultOutputTokens"] = "100",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddSagas("prompt-analysis-budget-specs", SagasWorkflows.Catalog);
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
                    .StartOnDemandAsync(new RunRequest(AnalysisRunScope.Project, projectId, null, false, "specs", atStart ? 0.35m : null), CancellationToken.None);
                // Set before the run's analyses are claimed (they start after the fan-out): every ask reserves on it.
                if (!atStart)
                    await SetBudgetAsync(scope.ServiceProvider, projectDay, run.RunId, projectId, 0.35m);
            }

            var budgetId = projectDay ? BudgetScope.ProjectDay(projectId, DateOnly.FromDateTime(DateTime.UtcNow)) : PromptAnalysisRunBudget.IdOf(run.RunId);
            await WaitAsync(host.Services, async db =>
                await db.Set<Budget>().AnyAsync(b => b.Id == budgetId && b.PausedAt != null)
                && !await db.Set<BudgetReservation>().AnyAsync(r => r.BudgetIds.Contains(budgetId) && r.State == BudgetReservationState.Reserved)
                && await db.Set<PromptAnalysisState>().AnyAsync(s => s.RunId == run.RunId && s.CurrentState == "Paused"));

            // What the budget admitted was asked and answered; what it refused is parked, its row unclaimed and unanswered.
            var admitted = await QueryAsync(host.Services, db => db.Set<BudgetReservation>().CountAsync(r => r.BudgetIds.Contains(budgetId)));
            var answered = await QueryAsync(host.Services, db => db.Set<ModelUsage>().CountAsync(u => u.RunId == run.RunId));
            // Three fit at once; an ask that came after a cheaper-than-estimated answer settled may have fitted too.
            Assert.InRange(admitted, 3, Prompts * 4 - 1);
            Assert.Equal(admitted, answered);
            var parked = await QueryAsync(host.Services, db => db.Set<PromptAnalysisState>().Where(s => s.RunId == run.RunId && s.ParkedPlatforms != null).ToListAsync());
            Assert.NotEmpty(parked);
            Assert.All(parked, s => Assert.StartsWith(projectDay ? "project day budget of $0.35 reached:" : "run budget of $0.35 reached:", s.PausedReason));

            await using (var scope = host.Services.CreateAsyncScope())
                Assert.True((await SetBudgetAsync(scope.ServiceProvider, projectDay, run.RunId, projectId, 100m)).WasPaused);

            await WaitAsync(host.Services, async db => await db.Set<AnalysisRun>().AnyAsync(r => r.Id == run.RunId && r.FinishedAt != null));
            var responses = await QueryAsync(host.Services, db => db.Set<PlatformResponse>().Where(r => r.ProjectId == projectId).ToListAsync());
            Assert.Equal(Prompts * 4, responses.Count);
            Assert.All(responses, r => Assert.Equal(PlatformResponseStatus.Success, r.Status));
            Assert.Equal(Prompts * 4, await QueryAsync(host.Services, db => db.Set<ModelUsage>().CountAsync(u => u.RunId == run.RunId)));
            var sagas = await QueryAsync(host.Services, db => db.Set<PromptAnalysisState>().Where(s => s.RunId == run.RunId).ToListAsync());
            Assert.All(sagas, s => Assert.Equal(("Completed", 4, (string?)null), (s.CurrentState, s.SucceededPlatforms, s.ParkedPlatforms)));
            var budget = await QueryAsync(host.Services, db => db.Set<Budget>().AsNoTracking().SingleAsync(b => b.Id == budgetId));
            var cost = (await QueryAsync(host.Services, db => db.Set<ModelUsage>().Where(u => u.RunId == run.RunId).Select(u => u.Cost).ToListAsync())).Sum(c => c ?? 0m);
            Assert.Equal((0m, cost, false), (budget.Reserved, budget.Spent, budget.IsPaused));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static Task<BudgetChange> SetBudgetAsync(IServiceProvider services, bool projectDay, Guid runId, Guid projectId, decimal limitUsd)
    {
        var budgets = services.GetRequiredService<PromptAnalysisRunBudget>();
        return projectDay
            ? budgets.SetProjectDayAsync(projectId, DateOnly.FromDateTime(DateTime.UtcNow), limitUsd, CancellationToken.None)
            : budgets.SetAsync(runId, limitUsd, CancellationToken.None);
    }

    private static async Task<Guid> SeedAsync(IServiceProvider services)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var now = DateTimeOffset.UtcNow;
        var project = new AnalysisProject { Id = Guid.NewGuid(), Name = "Budgeted", BrandNames = ["Acme"], Domains = ["example.com"], CreatedAt = now, UpdatedAt = now };
        db.Add(project);
        db.AddRange(Enumerable.Range(0, Prompts).Select(i => new TrackedPrompt
        {
            Id = Guid.NewGuid(), ProjectId = project.Id, Text = $"Which anvil brand is cheapest? #{i}", Active = true,
            Platforms = ["openai", "claude", "gemini", "perplexity"], CreatedAt = now, UpdatedAt = now,
        }));
        await db.SaveChangesAsync();
        return project.Id;
    }

    private static async Task WaitAsync(IServiceProvider services, Func<SagasDbContext, Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (!await QueryAsync(services, condition))
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition was not met within 120 s.");
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    private static async Task<T> QueryAsync<T>(IServiceProvider services, Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }
}
