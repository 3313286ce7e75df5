using MassTransit;
using MassTransit.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Contracts.LlmJobs;
using Sagas.LlmJobs;
using Sagas.LlmJobs.Consumers;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.Providers;
using Sagas.LlmJobs.Providers.Simulated;
using Sagas.Messaging;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Components.Tests.LlmJobs.Consumers;

/// <summary>
/// Batch-mode items left <c>submitting</c> by a delivery that died after it had created their batch: the next delivery
/// takes them over once the lease ran out and adopts the batch found by the dead claim's reference instead of paying for
/// a second one. Items held under a live lease are left to their holder.
/// </summary>
public sealed class When_items_are_left_submitting_by_another_delivery : IAsyncDisposable
{
    private readonly SqliteConnection _keeper;
    private readonly string _database = $"Data Source=file:llm-claim-{Guid.NewGuid():N}?mode=memory&cache=shared";
    private readonly ServiceProvider _provider;

    public When_items_are_left_submitting_by_another_delivery()
    {
        _keeper = new SqliteConnection(_database);
        _keeper.Open();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmJobs:Providers:Simulated:FailureRate"] = "0",
        }).Build();
        _provider = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging()
            .AddDbContext<SagasDbContext>(builder => PersistenceRegistration.Configure(builder, DatabaseProvider.Sqlite, _database, SagasWorkflows.Model))
            .AddSagasOutbox(configuration, SagasWorkflows.Catalog.Assemblies)
            .AddSingleton(TimeProvider.System)
            .AddLlmJobs(configuration)
            .AddMassTransitTestHarness(x => x.AddConsumer<StartLlmJobItemsConsumer, StartLlmJobItemsConsumerDefinition>())
            .BuildServiceProvider(true);
    }

    [Fact]
    public async Task Should_adopt_the_batch_of_an_expired_claim_and_leave_a_live_claim_alone()
    {
        var deadClaim = NewId.NextGuid();
        var liveClaim = NewId.NextGuid();
        var now = DateTimeOffset.UtcNow;
        var jobId = await SeedJobAsync(
            ("a", deadClaim, now.AddMinutes(-1)),
            ("b", deadClaim, now.AddMinutes(-1)),
            ("c", liveClaim, now.AddMinutes(5)));
        var simulated = _provider.GetRequiredService<SimulatedLlmJobProvider>();
        var earlier = await simulated.SubmitBatchAsync(
            new LlmBatchRequest($"sagas-llm-job:{jobId:N}:{deadClaim:N}", [Request("a"), Request("b")]), CancellationToken.None);

        var harness = _provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        await harness.Bus.Publish(new StartLlmJobItems(jobId));
        Assert.True(await harness.Consumed.Any<StartLlmJobItems>());

        await using var scope = _provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var items = await db.Set<LlmJobItem>().AsNoTracking().Where(i => i.JobId == jobId).OrderBy(i => i.Sequence).ToListAsync();
        Assert.Equal(
            [("a", LlmJobItemStatus.Processing, (string?)earlier.BatchId), ("b", LlmJobItemStatus.Processing, earlier.BatchId), ("c", LlmJobItemStatus.Submitting, null)],
            items.Select(i => (i.ItemId, i.Status, i.ProviderBatchId)));
        Assert.Equal(liveClaim, items[2].SubmitClaimId);
        var batch = Assert.Single(await db.Set<LlmJobBatch>().AsNoTracking().Where(b => b.JobId == jobId).ToListAsync());
        Assert.Equal(earlier.BatchId, batch.BatchId);
        // The holder of "c" finishes the job; this copy does not report it started.
        Assert.False(await harness.Published.Any<LlmJobStarted>());
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        await _keeper.DisposeAsync();
    }

    private static LlmItemRequest Request(string itemId) => new(itemId, null, "Decide.", $"input {itemId}");

    private async Task<Guid> SeedJobAsync(params (string ItemId, Guid Claim, DateTimeOffset Until)[] items)
    {
        await using var scope = _provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        await db.Database.EnsureCreatedAsync();
        var now = DateTimeOffset.UtcNow;
        var jobId = NewId.NextGuid();
        db.Add(new LlmJob
        {
            Id = jobId, Kind = "flagging", Model = "sim-1", Instructions = "Decide.", Priority = LlmJobPriority.Normal,
            Mode = LlmJobMode.Batch, Status = LlmJobStatus.Queued, Provider = SimulatedProviderOptions.ProviderName, Simulated = true,
            TotalItems = items.Length, CreatedAt = now, ExpiresAt = now.AddHours(1), SubmittedBy = "specs", PollIntervalMs = 30_000,
        });
        db.AddRange(items.Select((item, index) => new LlmJobItem
        {
            JobId = jobId, ItemId = item.ItemId, Sequence = index, EntityType = "post", EntityId = item.ItemId, Input = $"input {item.ItemId}",
            Status = LlmJobItemStatus.Submitting, SubmitClaimId = item.Claim, SubmitClaimedUntil = item.Until, CreatedAt = now,
        }));
        await db.SaveChangesAsync();
        return jobId;
    }
}
