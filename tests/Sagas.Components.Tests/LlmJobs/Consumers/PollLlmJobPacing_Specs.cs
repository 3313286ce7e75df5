using System.Collections.Concurrent;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Sagas.Contracts.LlmJobs;
using Sagas.Core.Http;
using Sagas.LlmJobs;
using Sagas.LlmJobs.Consumers;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.Providers;
using Sagas.Messaging;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Components.Tests.LlmJobs.Consumers;

/// <summary>
/// When a job's next poll falls: counted from the cycle's lease (the tick's scheduled instant; the cycle's start for a
/// message without one), and taken at once by the poller itself (a fresh lease, a PollLlmJob of its own) when it is
/// already due as the cycle commits, instead of at the next tick. Never sooner than MinInterval after the lease, and not
/// back to back after errors. The provider here moves a fake
/// clock on every status check, which is how a cycle "takes" time.
/// </summary>
public sealed class When_a_poll_cycle_ends : IAsyncDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _clock = new(Start);
    private readonly FakeLogCollector _logs = new();
    private readonly ScriptedProvider _scripted;
    private readonly SqliteConnection _keeper;
    private readonly string _database = $"Data Source=file:llm-pacing-{Guid.NewGuid():N}?mode=memory&cache=shared";
    private ServiceProvider? _provider;

    public When_a_poll_cycle_ends()
    {
        _scripted = new ScriptedProvider(_clock);
        _keeper = new SqliteConnection(_database);
        _keeper.Open();
    }

    [Fact]
    public async Task Should_count_the_next_poll_from_the_cycle_start()
    {
        Build(interval: "00:00:10", minInterval: "00:00:05", maxInterval: "00:01:00");
        _scripted.Step = TimeSpan.FromSeconds(3);
        var (jobId, lease) = await SeedRunningJobAsync(pollIntervalMs: 10_000, "a", "b");

        await PollAsync(jobId, lease);

        // Nothing finished: the interval grows from 10 s to 15 s, counted from the start, not from the end 6 s later.
        var job = await JobAsync(jobId);
        Assert.Equal(15_000, job.PollIntervalMs);
        Assert.Equal(Start.AddSeconds(15), job.NextPollAt);
        Assert.Null(job.LeaseId);
        Assert.Null(job.LeaseUntil);
    }

    [Fact]
    public async Task Should_count_the_next_poll_from_the_lease_so_a_job_at_the_ticks_period_is_due_at_the_next_tick()
    {
        Build(interval: "00:00:05", minInterval: "00:00:05", maxInterval: "00:00:05");
        _scripted.Step = TimeSpan.FromMilliseconds(100);
        var (jobId, lease) = await SeedRunningJobAsync(pollIntervalMs: 5_000, "a", "b");

        // The tick leased the job at its scheduled instant; the cycle started 40 ms later (the tick's own work, the
        // queue). Counted from that start, the next poll would fall 40 ms after the next tick and wait for the one after.
        _clock.Advance(TimeSpan.FromMilliseconds(40));
        await PollAsync(jobId, lease, leasedAt: Start);

        var job = await JobAsync(jobId);
        Assert.Equal(Start.AddSeconds(5), job.NextPollAt);
    }

    [Fact]
    public async Task Should_hand_out_a_due_job_leased_at_the_ticks_scheduled_instant()
    {
        var handed = await TickAsync(ranAfterItsInstant: TimeSpan.FromMilliseconds(30));

        Assert.Equal(Start, handed.LeasedAt);
    }

    [Fact]
    public async Task Should_lease_from_its_own_clock_a_tick_delivered_later_than_MinInterval()
    {
        // A tick that waited 8 s (a backlog, a redelivery) would otherwise make the next poll due before this one ran.
        var handed = await TickAsync(ranAfterItsInstant: TimeSpan.FromSeconds(8));

        Assert.Equal(Start.AddSeconds(8), handed.LeasedAt);
    }

    [Fact]
    public async Task Should_poll_again_at_once_under_a_new_lease_when_the_next_poll_is_due_as_the_cycle_ends()
    {
        Build(interval: "00:00:01", minInterval: "00:00:01", maxInterval: "00:00:01");
        _scripted.Step = TimeSpan.FromSeconds(1);
        _scripted.FinishFromCall = 2;
        var (jobId, lease) = await SeedRunningJobAsync(pollIntervalMs: 1_000, "a", "b");

        var harness = await PollAsync(jobId, lease);

        // The 2 s cycle outlasted the 1 s interval: the poller followed it up itself, and that cycle finished the job.
        Assert.True(await harness.Consumed.Any<PollLlmJob>(x => x.Context.Message.JobId == jobId && x.Context.Message.LeaseId != lease));
        var job = await JobAsync(jobId);
        Assert.Equal(LlmJobStatus.Completed, job.Status);
        Assert.Equal(2, job.SucceededItems);
        Assert.Equal(4, _scripted.Calls);
        Assert.Null(job.LeaseId);
        Assert.False(await harness.Published.Any<PollLlmJobs>());
    }

    [Fact]
    public async Task Should_follow_a_cycle_that_saw_items_finish_at_once_when_the_halved_interval_has_passed()
    {
        Build(interval: "00:00:02", minInterval: "00:00:01", maxInterval: "00:01:00");
        _scripted.Step = TimeSpan.FromMilliseconds(500);
        _scripted.FinishAtOnce.Add("a");
        _scripted.FinishFromCall = 2;
        var (jobId, lease) = await SeedRunningJobAsync(pollIntervalMs: 2_000, "a", "b");

        var harness = await PollAsync(jobId, lease);

        // "a" finished in the 1 s cycle: the interval halved to 1 s from the start, due as the cycle ended.
        Assert.True(await harness.Consumed.Any<PollLlmJob>(x => x.Context.Message.JobId == jobId && x.Context.Message.LeaseId != lease));
        var job = await JobAsync(jobId);
        Assert.Equal(LlmJobStatus.Completed, job.Status);
        Assert.Equal(2, job.SucceededItems);
        Assert.Equal(3, _scripted.Calls);
    }

    [Fact]
    public async Task Should_leave_the_next_poll_to_the_tick_when_MinInterval_has_not_passed_though_items_finished()
    {
        Build(interval: "00:00:01", minInterval: "00:00:01", maxInterval: "00:00:01");
        _scripted.Step = TimeSpan.FromMilliseconds(100);
        _scripted.FinishAtOnce.Add("a");
        var (jobId, lease) = await SeedRunningJobAsync(pollIntervalMs: 1_000, "a", "b");

        await PollAsync(jobId, lease);

        var job = await JobAsync(jobId);
        Assert.Equal(LlmJobStatus.Running, job.Status);
        Assert.Equal(1, job.SucceededItems);
        Assert.Equal(Start.AddSeconds(1), job.NextPollAt);
        Assert.Null(job.LeaseId);
        Assert.Equal(2, _scripted.Calls);
    }

    [Fact]
    public async Task Should_count_from_the_end_and_leave_it_to_the_tick_after_a_cycle_with_errors()
    {
        Build(interval: "00:00:01", minInterval: "00:00:01", maxInterval: "00:00:01");
        _scripted.Step = TimeSpan.FromSeconds(2);
        _scripted.FailTransiently.Add("b");
        var (jobId, lease) = await SeedRunningJobAsync(pollIntervalMs: 1_000, "a", "b");

        await PollAsync(jobId, lease);

        var job = await JobAsync(jobId);
        Assert.Equal(Start.AddSeconds(4 + 1), job.NextPollAt);
        Assert.Null(job.LeaseId);
        Assert.Equal(2, _scripted.Calls);
    }

    [Fact]
    public async Task Should_log_how_long_the_cycle_spent_polling_and_in_the_ledger()
    {
        Build(interval: "00:00:10", minInterval: "00:00:05", maxInterval: "00:01:00");
        _scripted.Step = TimeSpan.FromSeconds(3);
        var (jobId, lease) = await SeedRunningJobAsync(pollIntervalMs: 10_000, "a", "b");

        await PollAsync(jobId, lease);

        // Two checks of 3 s each at the provider; the ledger's transaction moves no fake time.
        var cycle = Assert.Single(_logs.GetSnapshot(), r => r.Category == typeof(PollLlmJobConsumer).FullName && r.GetStructuredStateValue("JobId") == jobId.ToString()).StructuredState!.ToDictionary();
        Assert.Equal("6000", cycle["PollMs"]);
        Assert.Equal("0", cycle["LedgerMs"]);
        Assert.Equal("2", cycle["ItemsPolled"]);
    }

    public async ValueTask DisposeAsync()
    {
        if (_provider is not null)
            await _provider.DisposeAsync();
        await _keeper.DisposeAsync();
    }

    private void Build(string interval, string minInterval, string maxInterval)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmJobs:Polling:Interval"] = interval,
            ["LlmJobs:Polling:MinInterval"] = minInterval,
            ["LlmJobs:Polling:MaxInterval"] = maxInterval,
            // One check at a time, so the fake clock moves the same way on every run.
            ["LlmJobs:Polling:Parallelism"] = "1",
        }).Build();
        _provider = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging(logging => logging.AddProvider(new FakeLoggerProvider(_logs)))
            .AddDbContext<SagasDbContext>(builder => PersistenceRegistration.Configure(builder, DatabaseProvider.Sqlite, _database, SagasWorkflows.Model))
            .AddSagasOutbox(configuration, SagasWorkflows.Catalog.Assemblies)
            .AddSingleton<TimeProvider>(_clock)
            .AddSingleton<ILlmJobProvider>(_scripted)
            .AddLlmJobs(configuration)
            .AddMassTransitTestHarness(x =>
            {
                x.AddConsumer<PollLlmJobConsumer, PollLlmJobConsumerDefinition>();
                x.AddConsumer<PollLlmJobsConsumer, PollLlmJobsConsumerDefinition>();
            })
            .BuildServiceProvider(true);
    }

    /// <summary>Delivers the tick's PollLlmJob under <paramref name="lease"/> and waits until it was consumed.</summary>
    private async Task<ITestHarness> PollAsync(Guid jobId, Guid lease, DateTimeOffset? leasedAt = null)
    {
        var harness = _provider!.GetRequiredService<ITestHarness>();
        await harness.Start();
        await harness.Bus.Publish(new PollLlmJob(jobId, lease, leasedAt));
        Assert.True(await harness.Consumed.Any<PollLlmJob>(x => x.Context.Message.LeaseId == lease));
        return harness;
    }

    /// <summary>
    /// A job at a 5 s interval whose poll is due at the tick's scheduled instant (<see cref="Start"/>); the tick runs
    /// <paramref name="ranAfterItsInstant"/> later. Returns the PollLlmJob it hands out for the job.
    /// </summary>
    private async Task<PollLlmJob> TickAsync(TimeSpan ranAfterItsInstant)
    {
        Build(interval: "00:00:05", minInterval: "00:00:05", maxInterval: "00:00:05");
        var (jobId, _) = await SeedRunningJobAsync(pollIntervalMs: 5_000, "a");
        await ReleaseAsync(jobId);
        _clock.Advance(ranAfterItsInstant);

        var harness = _provider!.GetRequiredService<ITestHarness>();
        await harness.Start();
        await harness.Bus.Publish(new PollLlmJobs(), send => send.Headers.Set(MessageHeaders.Quartz.Scheduled, Start));

        var handed = await harness.Published.SelectAsync<PollLlmJob>(x => x.Context.Message.JobId == jobId).FirstOrDefault();
        Assert.NotNull(handed);
        return handed.Context.Message;
    }

    /// <summary>The job as a finished cycle leaves it: no lease, its poll due now.</summary>
    private async Task ReleaseAsync(Guid jobId)
    {
        await using var scope = _provider!.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<SagasDbContext>().Set<LlmJob>().Where(j => j.Id == jobId)
            .ExecuteUpdateAsync(set => set.SetProperty(j => j.LeaseId, (Guid?)null).SetProperty(j => j.LeaseUntil, (DateTimeOffset?)null));
    }

    private async Task<LlmJob> JobAsync(Guid jobId)
    {
        await using var scope = _provider!.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<SagasDbContext>().Set<LlmJob>().AsNoTracking().SingleAsync(j => j.Id == jobId);
    }

    /// <summary>A running job leased as the tick leases it, its items in flight at the scripted provider.</summary>
    private async Task<(Guid JobId, Guid Lease)> SeedRunningJobAsync(int pollIntervalMs, params string[] itemIds)
    {
        await using var scope = _provider!.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        await db.Database.EnsureCreatedAsync();
        var jobId = NewId.NextGuid();
        var lease = NewId.NextGuid();
        db.Add(new LlmJob
        {
            Id = jobId, Kind = "flagging", Model = "scripted-1", Instructions = "Decide.", Priority = LlmJobPriority.Normal,
            Mode = LlmJobMode.Background, Status = LlmJobStatus.Running, Provider = ScriptedProvider.ProviderName, Simulated = true,
            TotalItems = itemIds.Length, CreatedAt = Start, StartedAt = Start, ExpiresAt = Start.AddHours(1), SubmittedBy = "specs",
            PollIntervalMs = pollIntervalMs, NextPollAt = Start, LeaseId = lease, LeaseUntil = Start.AddMinutes(2),
        });
        db.AddRange(itemIds.Select((itemId, index) => new LlmJobItem
        {
            JobId = jobId, ItemId = itemId, Sequence = index, EntityType = "post", EntityId = itemId, Input = $"input {itemId}",
            Status = LlmJobItemStatus.Processing, ProviderTaskId = $"task-{itemId}", SubmittedAt = Start, CreatedAt = Start,
        }));
        await db.SaveChangesAsync();
        return (jobId, lease);
    }

    /// <summary>
    /// Background items only. Each status check moves the clock by <see cref="Step"/>; an item answers "in progress"
    /// until its <see cref="FinishFromCall"/>-th check (never, when 0), or finishes at its first when listed in
    /// <see cref="FinishAtOnce"/>; an item in <see cref="FailTransiently"/> fails every check as the provider being down.
    /// </summary>
    private sealed class ScriptedProvider(FakeTimeProvider clock) : ILlmJobProvider
    {
        public const string ProviderName = "scripted";

        private readonly ConcurrentDictionary<string, int> _checks = new(StringComparer.Ordinal);
        private int _calls;

        public TimeSpan Step { get; set; }

        public int FinishFromCall { get; set; }

        public HashSet<string> FinishAtOnce { get; } = new(StringComparer.Ordinal);

        public HashSet<string> FailTransiently { get; } = new(StringComparer.Ordinal);

        public int Calls => Volatile.Read(ref _calls);

        public string Name => ProviderName;

        public bool IsSimulated => true;

        public string DefaultModel => "scripted-1";

        public LlmProviderLimits Limits { get; } = new(50_000, 200_000_000, 100_000, 64);

        public RateLimitSnapshot LatestRateLimit => new() { ObservedAt = clock.GetUtcNow() };

        public Task<LlmItemOutcome> GetItemAsync(string providerTaskId, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            clock.Advance(Step);
            var itemId = providerTaskId["task-".Length..];
            var check = _checks.AddOrUpdate(itemId, 1, (_, n) => n + 1);
            if (FailTransiently.Contains(itemId))
            {
                throw new LlmProviderException(ProviderName, "get", new LlmProviderError(LlmErrorKind.Transient, "unavailable", "The provider is down.", 503), LatestRateLimit);
            }

            var finished = FinishAtOnce.Contains(itemId) || (FinishFromCall > 0 && check >= FinishFromCall);
            return Task.FromResult(finished
                ? new LlmItemOutcome(providerTaskId, LlmItemStatus.Succeeded, "completed", new FlagDecision(false, "none", 0.9, "Fine."), new LlmTokenUsage(10, 5), null, LatestRateLimit)
                : new LlmItemOutcome(providerTaskId, LlmItemStatus.InProgress, "in_progress", null, null, null, LatestRateLimit));
        }

        public Task<LlmItemSubmission> SubmitItemAsync(LlmItemRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<LlmItemOutcome> CancelItemAsync(string providerTaskId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public IReadOnlyList<IReadOnlyList<LlmItemRequest>> PlanBatches(IReadOnlyList<LlmItemRequest> items) => throw new NotSupportedException();

        public Task<LlmBatchSubmission> SubmitBatchAsync(LlmBatchRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<LlmBatchSubmission?> FindBatchAsync(string reference, DateTimeOffset createdAfter, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<LlmBatchStatus> GetBatchAsync(string batchId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<LlmBatchResults> ReadBatchResultsAsync(LlmBatchStatus batch, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<LlmBatchStatus> CancelBatchAsync(string batchId, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
