using System.Collections.Concurrent;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Contracts.LlmJobs;
using Sagas.Core.Http;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.Providers;
using Sagas.LlmJobs.Providers.Simulated;
using Sagas.LlmJobs.StateMachines;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.LlmJobs;

/// <summary>What reached the provider, shared by every worker host of a spec; submissions wait at a gate the spec opens.</summary>
public sealed class SubmissionLog
{
    public const string DuplicateHeader = "x-spec-duplicate";

    /// <summary>Open the gate as soon as one item is submitted twice (two deliveries at the provider at once).</summary>
    public bool OpenOnSecondSubmission { get; init; }

    public ConcurrentDictionary<string, int> SubmissionsPerItem { get; } = new(StringComparer.Ordinal);

    /// <summary>Provider task id → item id, for every response the provider created.</summary>
    public ConcurrentDictionary<string, string> Created { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, int> CancelledTasks { get; } = new(StringComparer.Ordinal);

    public TaskCompletionSource FirstSubmission { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How long the provider takes to accept one item (none unless set): the window a duplicate can race into.</summary>
    public Func<TimeSpan>? Latency { get; init; }

    private int _duplicatesConsumed;

    public int DuplicatesConsumed => Volatile.Read(ref _duplicatesConsumed);

    public void DuplicateConsumed() => Interlocked.Increment(ref _duplicatesConsumed);
}

/// <summary>The simulated provider behind the spec's gate and log.</summary>
public sealed class GatedLlmProvider(SimulatedLlmJobProvider inner, SubmissionLog log) : ILlmJobProvider
{
    public string Name => inner.Name;

    public bool IsSimulated => inner.IsSimulated;

    public string DefaultModel => inner.DefaultModel;

    public LlmProviderLimits Limits => inner.Limits;

    public RateLimitSnapshot LatestRateLimit => inner.LatestRateLimit;

    public async Task<LlmItemSubmission> SubmitItemAsync(LlmItemRequest request, CancellationToken cancellationToken)
    {
        var submissions = log.SubmissionsPerItem.AddOrUpdate(request.ItemId, 1, (_, count) => count + 1);
        log.FirstSubmission.TrySetResult();
        if (submissions > 1 && log.OpenOnSecondSubmission)
            log.Gate.TrySetResult();
        await log.Gate.Task.WaitAsync(cancellationToken);
        if (log.Latency is { } latency)
            await Task.Delay(latency(), cancellationToken);
        var submission = await inner.SubmitItemAsync(request, cancellationToken);
        log.Created[submission.ProviderTaskId] = request.ItemId;
        return submission;
    }

    public Task<LlmItemOutcome> GetItemAsync(string providerTaskId, CancellationToken cancellationToken) => inner.GetItemAsync(providerTaskId, cancellationToken);

    public Task<LlmItemOutcome> CancelItemAsync(string providerTaskId, CancellationToken cancellationToken)
    {
        log.CancelledTasks.AddOrUpdate(providerTaskId, 1, (_, count) => count + 1);
        return inner.CancelItemAsync(providerTaskId, cancellationToken);
    }

    public IReadOnlyList<IReadOnlyList<LlmItemRequest>> PlanBatches(IReadOnlyList<LlmItemRequest> items) => inner.PlanBatches(items);

    public Task<LlmBatchSubmission> SubmitBatchAsync(LlmBatchRequest request, CancellationToken cancellationToken) => inner.SubmitBatchAsync(request, cancellationToken);

    public Task<LlmBatchSubmission?> FindBatchAsync(string reference, DateTimeOffset createdAfter, CancellationToken cancellationToken) =>
        inner.FindBatchAsync(reference, createdAfter, cancellationToken);

    public Task<LlmBatchStatus> GetBatchAsync(string batchId, CancellationToken cancellationToken) => inner.GetBatchAsync(batchId, cancellationToken);

    public Task<LlmBatchResults> ReadBatchResultsAsync(LlmBatchStatus batch, CancellationToken cancellationToken) => inner.ReadBatchResultsAsync(batch, cancellationToken);

    public Task<LlmBatchStatus> CancelBatchAsync(string batchId, CancellationToken cancellationToken) => inner.CancelBatchAsync(batchId, cancellationToken);
}

/// <summary>Opens the gate once the spec's extra copy of <see cref="StartLlmJobItems"/> has been consumed.</summary>
public sealed class DuplicateConsumedObserver(SubmissionLog log) : IConsumeObserver
{
    public Task PreConsume<T>(ConsumeContext<T> context)
        where T : class => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context)
        where T : class
    {
        if (context.Message is StartLlmJobItems && context.Headers.TryGetHeader(SubmissionLog.DuplicateHeader, out _))
        {
            log.DuplicateConsumed();
            log.Gate.TrySetResult();
        }

        return Task.CompletedTask;
    }

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception)
        where T : class => Task.CompletedTask;
}

/// <summary>
/// Worker hosts (RabbitMQ, PostgreSQL, the whole LLM-job workflow) whose provider is the gated simulated one: the
/// submission of a job's items can be held while a second delivery or a cancel arrives.
/// </summary>
public sealed class When_a_jobs_items_are_submitted_by_more_than_one_delivery : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqVirtualHost>
{
    private readonly PostgresDatabase _database;
    private readonly RabbitMqVirtualHost _broker;

    public When_a_jobs_items_are_submitted_by_more_than_one_delivery(PostgresDatabase database, RabbitMqVirtualHost broker)
    {
        _database = database;
        _broker = broker;
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_submit_each_item_once_when_two_workers_start_the_same_items()
    {
        var log = new SubmissionLog { OpenOnSecondSubmission = true };
        using var first = await StartWorkerAsync("llm-jobs,scheduler", log);
        using var second = await StartWorkerAsync("llm-jobs", log);
        try
        {
            var jobId = NewId.NextGuid();
            var bus = first.Services.GetRequiredService<IBus>();
            await bus.Publish(LlmJobHost.Job(jobId, 20));

            // The saga's start is at the provider; a second copy now reaches the other worker (or this one's next slot).
            await log.FirstSubmission.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await bus.Publish(new StartLlmJobItems(jobId), publish => publish.Headers.Set(SubmissionLog.DuplicateHeader, "1"));
            await log.Gate.Task.WaitAsync(TimeSpan.FromSeconds(60));

            var job = await WaitForJobAsync(first, jobId, j => !j.IsActive);
            Assert.Equal((LlmJobStatus.Completed, 20, 20), (job.Status, job.ProcessedItems, job.SucceededItems));
            Assert.Equal(20, log.SubmissionsPerItem.Count);
            Assert.All(log.SubmissionsPerItem, submitted => Assert.Equal(1, submitted.Value));
            var recorded = await QueryAsync(first, db => db.Set<LlmJobItem>().AsNoTracking().Where(i => i.JobId == jobId).ToDictionaryAsync(i => i.ItemId, i => i.ProviderTaskId));
            Assert.Equal(log.Created.OrderBy(c => c.Value).Select(c => (c.Value, (string?)c.Key)), recorded.OrderBy(r => r.Key).Select(r => (r.Key, r.Value)));
        }
        finally
        {
            log.Gate.TrySetResult();
            await first.StopAsync();
            await second.StopAsync();
        }
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_submit_each_item_once_whatever_the_timing_of_duplicate_starts()
    {
        const int Rounds = 12;
        const int Items = 10;
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var log = new SubmissionLog { Latency = () => TimeSpan.FromMilliseconds(Random.Shared.Next(0, 120)) };
        log.Gate.TrySetResult();
        using var first = await StartWorkerAsync("llm-jobs,scheduler", log);
        using var second = await StartWorkerAsync("llm-jobs", log);
        try
        {
            var bus = first.Services.GetRequiredService<IBus>();
            var duplicates = 0;
            for (var round = 0; round < Rounds; round++)
            {
                log.SubmissionsPerItem.Clear();
                log.Created.Clear();
                var jobId = NewId.NextGuid();
                await bus.Publish(LlmJobHost.Job(jobId, Items));

                // Two copies of the start land somewhere between before the saga's own start and after the last item
                // was sent: on either worker, at random.
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(0, 400)));
                await bus.Publish(new StartLlmJobItems(jobId), publish => publish.Headers.Set(SubmissionLog.DuplicateHeader, "1"));
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(0, 60)));
                await bus.Publish(new StartLlmJobItems(jobId), publish => publish.Headers.Set(SubmissionLog.DuplicateHeader, "1"));
                duplicates += 2;

                var job = await WaitForJobAsync(first, jobId, j => !j.IsActive);
                await WaitUntilAsync(() => log.DuplicatesConsumed == duplicates, () => $"{log.DuplicatesConsumed}/{duplicates} duplicate starts consumed");
                var context = $"round {round}, seed {seed}";
                Assert.True((LlmJobStatus.Completed, Items, Items) == (job.Status, job.ProcessedItems, job.SucceededItems), $"{context}: {job.Status} {job.ProcessedItems}/{job.SucceededItems}");
                var twice = log.SubmissionsPerItem.Where(s => s.Value != 1).Select(s => $"{s.Key}×{s.Value}").ToList();
                Assert.True(twice.Count == 0 && log.SubmissionsPerItem.Count == Items, $"{context}: submitted more than once: {string.Join(", ", twice)}");
                var recorded = await QueryAsync(first, db => db.Set<LlmJobItem>().AsNoTracking().Where(i => i.JobId == jobId).ToDictionaryAsync(i => i.ItemId, i => i.ProviderTaskId));
                Assert.Equal(log.Created.OrderBy(c => c.Value).Select(c => (c.Value, (string?)c.Key)), recorded.OrderBy(r => r.Key).Select(r => (r.Key, r.Value)));
            }
        }
        finally
        {
            await first.StopAsync();
            await second.StopAsync();
        }
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_cancel_at_the_provider_what_was_submitted_for_items_a_cancel_ended_meanwhile()
    {
        var log = new SubmissionLog();
        using var worker = await StartWorkerAsync("llm-jobs,scheduler", log);
        try
        {
            var jobId = NewId.NextGuid();
            var bus = worker.Services.GetRequiredService<IBus>();
            await bus.Publish(LlmJobHost.Job(jobId, 5));
            await log.FirstSubmission.Task.WaitAsync(TimeSpan.FromSeconds(60));

            await bus.Publish(new CancelLlmJob(jobId, "spec"));
            var job = await WaitForJobAsync(worker, jobId, j => !j.IsActive);
            Assert.Equal((LlmJobStatus.Cancelled, 5), (job.Status, job.CancelledItems));
            log.Gate.TrySetResult();

            // Every response created after the items were cancelled is an orphan nobody would read: cancelled, once.
            await WaitUntilAsync(() => log.Created.Count == 5 && log.CancelledTasks.Count == 5, () => $"{log.Created.Count} created, {log.CancelledTasks.Count} cancelled");
            Assert.Equal(log.Created.Keys.Order(), log.CancelledTasks.Keys.Order());
            var stillCancelled = await QueryAsync(worker, db => db.Set<LlmJobItem>().CountAsync(i => i.JobId == jobId && i.Status == LlmJobItemStatus.Cancelled));
            Assert.Equal(5, stillCancelled);
            Assert.Equal("Cancelled", await QueryAsync(worker, db => db.Set<LlmJobState>().AsNoTracking().Where(s => s.CorrelationId == jobId).Select(s => s.CurrentState).SingleAsync()));
        }
        finally
        {
            log.Gate.TrySetResult();
            await worker.StopAsync();
        }
    }

    private async Task<IHost> StartWorkerAsync(string roles, SubmissionLog log)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Messaging:Transport"] = "RabbitMq",
            ["Messaging:RabbitMq:Uri"] = _broker.Address.ToString(),
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = _database.ConnectionString,
            ["Worker:Roles"] = roles,
            ["LlmJobs:Polling:Interval"] = "00:00:01",
            ["LlmJobs:Polling:MinInterval"] = "00:00:01",
            ["LlmJobs:Polling:MaxInterval"] = "00:00:02",
            ["Scheduling:Schedules:llm-job-poll:Cron"] = "0/1 * * * * ?",
            ["LlmJobs:Providers:Simulated:MinLatency"] = "00:00:00.200",
            ["LlmJobs:Providers:Simulated:MaxLatency"] = "00:00:00.200",
            ["LlmJobs:Providers:Simulated:FailureRate"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddSagas("llm-submission-specs", SagasWorkflows.Catalog);
        builder.Services.AddSingleton(sp => new LlmJobProviderCatalog(
            [new GatedLlmProvider(sp.GetRequiredService<SimulatedLlmJobProvider>(), log)], sp.GetRequiredService<LlmJobProvidersOptions>()));
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        var host = builder.Build();
        host.Services.GetRequiredService<IBus>().ConnectConsumeObserver(new DuplicateConsumedObserver(log));
        await host.StartAsync();
        return host;
    }

    private static async Task<T> QueryAsync<T>(IHost host, Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = host.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }

    private static async Task<LlmJob> WaitForJobAsync(IHost host, Guid jobId, Func<LlmJob, bool> condition)
    {
        LlmJob? job = null;
        await WaitUntilAsync(
            async () => (job = await QueryAsync(host, db => db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId))) is not null && condition(job),
            () => $"job {jobId}: {job?.Status} {job?.ProcessedItems}/{job?.TotalItems}");
        return job!;
    }

    private static Task WaitUntilAsync(Func<bool> condition, Func<string> state) => WaitUntilAsync(() => Task.FromResult(condition()), state);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<string> state)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out: {state()}");
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }
}
