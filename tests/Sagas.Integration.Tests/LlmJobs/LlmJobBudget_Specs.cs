using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Contracts.LlmJobs;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;
using Sagas.LlmJobs;
using Sagas.LlmJobs.Data;
using Sagas.Modules.Usage;
using Sagas.Modules.Usage.Budgets;

namespace Sagas.Integration.Tests.LlmJobs;

/// <summary>
/// A job with a budget for five items, against the simulated provider priced at 1,000 USD per million output tokens
/// (at most 80 per item, so each item reserves 0.08): it pauses with the rest queued and unsent, and completes after
/// the budget is raised, with every count exact.
/// </summary>
public sealed class When_an_llm_job_runs_out_of_budget(TransportServers<RabbitMqTestTransport> servers) : IClassFixture<TransportServers<RabbitMqTestTransport>>
{
    private static readonly Dictionary<string, string?> Priced = new()
    {
        ["Prices:0:Provider"] = "simulated",
        ["Prices:0:Model"] = "*",
        ["Prices:0:InputPerMillion"] = "0",
        ["Prices:0:OutputPerMillion"] = "1000",
        ["Prices:0:EffectiveFrom"] = "2026-11-23",
        ["Budgets:DefaultOutputTokens"] = "80",
    };

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_pause_with_items_queued_and_complete_after_the_budget_is_raised()
    {
        await using var host = await LlmJobHost.StartAsync(servers.Database, servers.Transport, TimeSpan.FromMilliseconds(200), Priced);
        var jobId = NewId.NextGuid();
        var budgetId = BudgetScope.Run(LlmJobsModule.WorkflowName, jobId);
        await SetLimitAsync(host, budgetId, 0.40m);

        await host.Services.GetRequiredService<IBus>().Publish(LlmJobHost.Job(jobId, 12));

        Assert.Equal("Paused", await host.WaitForSagaAsync(jobId, "Paused", TimeSpan.FromSeconds(60)));
        // The five items the budget held finish at the provider; the other seven were never sent.
        await host.WaitForJobAsync(jobId, j => j.SucceededItems == 5, TimeSpan.FromSeconds(30));
        var items = await host.QueryAsync(db => db.Set<LlmJobItem>().AsNoTracking().Where(i => i.JobId == jobId).ToListAsync());
        Assert.Equal(7, items.Count(i => i.Status == LlmJobItemStatus.Queued && i.ProviderTaskId == null));
        Assert.Equal(5, items.Count(i => i.ProviderTaskId != null));
        var paused = await host.QueryAsync(db => db.Set<Budget>().AsNoTracking().SingleAsync(b => b.Id == budgetId));
        Assert.True(paused.IsPaused);
        Assert.StartsWith("run budget of $0.40 reached:", paused.PausedReason);
        Assert.Equal(0m, paused.Reserved);
        Assert.Equal(await CostAsync(host, jobId), paused.Spent);
        Assert.True(paused.Spent <= paused.LimitUsd);

        // As the API does: raise the limit, and resume because that lifted a pause.
        var raised = await SetLimitAsync(host, budgetId, 1.00m);
        Assert.True(raised.WasPaused);
        await host.Services.GetRequiredService<IBus>().Publish(new ResumeLlmJob(jobId));

        var job = await host.WaitForJobAsync(jobId, j => j.Status == LlmJobStatus.Completed, TimeSpan.FromSeconds(60));
        Assert.Equal((12, 12, 0, 0), (job.ProcessedItems, job.SucceededItems, job.FailedItems, job.CancelledItems));
        Assert.Equal("Completed", await host.WaitForSagaAsync(jobId, "Completed", TimeSpan.FromSeconds(30)));
        Assert.Equal(12, await host.QueryAsync(db => db.Set<ModelUsage>().CountAsync(u => u.RunId == jobId)));
        var settled = await host.QueryAsync(db => db.Set<Budget>().AsNoTracking().SingleAsync(b => b.Id == budgetId));
        Assert.Equal((0m, await CostAsync(host, jobId), false), (settled.Reserved, settled.Spent, settled.IsPaused));
        Assert.Equal(12, await host.QueryAsync(db => db.Set<BudgetReservation>().CountAsync(r => r.BudgetIds == budgetId && r.State == BudgetReservationState.Settled)));
    }

    private static async Task<BudgetChange> SetLimitAsync(LlmJobHost host, string budgetId, decimal limit)
    {
        await using var scope = host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<BudgetStore>().SetLimitAsync(budgetId, limit, CancellationToken.None);
    }

    private static Task<decimal> CostAsync(LlmJobHost host, Guid jobId) =>
        host.QueryAsync(async db => (await db.Set<ModelUsage>().AsNoTracking().Where(u => u.RunId == jobId).Select(u => u.Cost).ToListAsync()).Sum(c => c ?? 0m));
}
