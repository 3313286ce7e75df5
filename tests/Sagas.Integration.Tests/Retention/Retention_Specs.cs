using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.StateMachines;
using Sagas.Messaging.FailedMessages;
using Sagas.Messaging.Retention;
using Sagas.Messaging.SagaHistory;
using Sagas.Modules;
using Sagas.Modules.Assistant;
using Sagas.Modules.Runs;
using Sagas.Persistence;
using Sagas.PromptAnalyses.StateMachines;
using Sagas.ScanSessions.Consumers;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.StateMachines;
using Sagas.Storage.Blobs;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Retention;

/// <summary>
/// One spec per kind of data the retention run deletes, over the services a process composes (every workflow's
/// <c>AddServices</c>, so the rules are the ones the workflows really register), the real store and a fake clock.
/// Each spec seeds what is due, what is not due yet and what belongs to work still running, runs the retention once
/// and checks that exactly the first went.
/// </summary>
public abstract class RetentionSpecs : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly string _contentRoot = Path.Combine(Path.GetTempPath(), "sagas-retention-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _clock = new(Now);

    protected abstract DatabaseProvider Provider { get; }

    protected abstract string ConnectionString { get; }

    protected abstract Task PrepareAsync(SagasDbContext db);

    private static DateTimeOffset DaysAgo(double days) => Now - TimeSpan.FromDays(days);

    protected async Task FailedMessagesOlderThanTheirPeriodAreDeleted()
    {
        await using var services = await StartAsync();
        var old = await AddFailedMessageAsync(services, DaysAgo(31));
        var recent = await AddFailedMessageAsync(services, DaysAgo(29));

        var outcomes = await RunAsync(services);

        Assert.False(await ExistsAsync<FailedMessage>(services, m => m.Id == old));
        Assert.True(await ExistsAsync<FailedMessage>(services, m => m.Id == recent));
        Assert.Contains(outcomes, o => o.Rule == FailedMessagesRetention.Name && o.Deleted >= 1 && o.Finished);
    }

    protected async Task HistoryOfInstancesQuietForTheWholePeriodIsDeleted()
    {
        await using var services = await StartAsync(("Retention:BatchSize", "2"));
        // Quiet for 100 days (three instances, so batches of two take two rounds); quiet for 80; old but with a recent event.
        var quiet = new List<Guid>();
        for (var i = 0; i < 3; i++)
            quiet.Add(await AddHistoryAsync(services, Guid.NewGuid(), DaysAgo(120), DaysAgo(100)));
        var recent = await AddHistoryAsync(services, Guid.NewGuid(), DaysAgo(85), DaysAgo(80));
        var stillGoing = await AddHistoryAsync(services, Guid.NewGuid(), DaysAgo(200), DaysAgo(150), DaysAgo(1));

        var outcomes = await RunAsync(services);

        Assert.Equal(0, await CountAsync<SagaHistoryEntry>(services, e => quiet.Contains(e.CorrelationId)));
        Assert.Equal(2, await CountAsync<SagaHistoryEntry>(services, e => e.CorrelationId == recent));
        Assert.Equal(3, await CountAsync<SagaHistoryEntry>(services, e => e.CorrelationId == stillGoing));
        var outcome = Assert.Single(outcomes, o => o.Rule == SagaHistoryRetention.Name);
        Assert.Equal((6L, true), (outcome.Deleted, outcome.Finished));
    }

    protected async Task AssistantQuestionsOlderThanTheirPeriodAreDeleted()
    {
        await using var services = await StartAsync();
        var old = await AddAssistantQuestionAsync(services, DaysAgo(91));
        var recent = await AddAssistantQuestionAsync(services, DaysAgo(89));

        var outcomes = await RunAsync(services);

        Assert.False(await ExistsAsync<AssistantQuestion>(services, q => q.Id == old));
        Assert.True(await ExistsAsync<AssistantQuestion>(services, q => q.Id == recent));
        var outcome = Assert.Single(outcomes, o => o.Rule == AssistantQuestionsRetention.Name);
        Assert.Equal((1L, true), (outcome.Deleted, outcome.Finished));
    }

    protected async Task FinishedBulkOperationsOlderThanTheirPeriodAreDeleted()
    {
        await using var services = await StartAsync();
        var old = await AddBulkOperationAsync(services, BulkOperationStatus.Completed, DaysAgo(100), DaysAgo(91));
        var oldFailed = await AddBulkOperationAsync(services, BulkOperationStatus.Failed, DaysAgo(100), DaysAgo(95));
        var recent = await AddBulkOperationAsync(services, BulkOperationStatus.Completed, DaysAgo(100), DaysAgo(89));
        // Started long ago and still running (a stalled redelivery): someone's record of work in progress.
        var running = await AddBulkOperationAsync(services, BulkOperationStatus.Running, DaysAgo(200), null);

        var outcomes = await RunAsync(services);

        Assert.False(await ExistsAsync<BulkOperation>(services, o => o.Id == old || o.Id == oldFailed));
        Assert.True(await ExistsAsync<BulkOperation>(services, o => o.Id == recent));
        Assert.True(await ExistsAsync<BulkOperation>(services, o => o.Id == running));
        var outcome = Assert.Single(outcomes, o => o.Rule == BulkOperationsRetention.Name);
        Assert.Equal((2L, true), (outcome.Deleted, outcome.Finished));
    }

    private static async Task<Guid> AddBulkOperationAsync(IServiceProvider services, string status, DateTimeOffset createdAt, DateTimeOffset? finishedAt)
    {
        await using var db = NewContext(services);
        var operation = new BulkOperation
        {
            Id = Guid.NewGuid(), Kind = BulkOperationKind.Redeliver, RequestedBy = "spec", CreatedAt = createdAt,
            Status = status, FinishedAt = finishedAt, Total = 1, Done = finishedAt is null ? 0 : 1,
        };
        db.Add(operation);
        await db.SaveChangesAsync();
        return operation.Id;
    }

    protected async Task EachBatchIsBoundedAndTheRunGoesOnUntilNothingIsDue()
    {
        await using var services = await StartAsync(("Retention:BatchSize", "10"));
        var old = new List<Guid>();
        for (var i = 0; i < 25; i++)
            old.Add(await AddFailedMessageAsync(services, DaysAgo(40 + i)));

        var outcomes = await RunAsync(services);

        var outcome = Assert.Single(outcomes, o => o.Rule == FailedMessagesRetention.Name);
        Assert.Equal((25L, 3, true), (outcome.Deleted, outcome.Batches, outcome.Finished));
        Assert.False(await ExistsAsync<FailedMessage>(services, m => old.Contains(m.Id)));
    }

    protected async Task ARuleSwitchedOffOrLengthenedKeepsWhatItWouldHaveDeleted()
    {
        await using (var services = await StartAsync(("Retention:Rules:failed-messages:Enabled", "false")))
        {
            var old = await AddFailedMessageAsync(services, DaysAgo(400));
            var outcomes = await RunAsync(services);
            Assert.True(await ExistsAsync<FailedMessage>(services, m => m.Id == old));
            Assert.DoesNotContain(outcomes, o => o.Rule == FailedMessagesRetention.Name);
        }

        await using (var services = await StartAsync(("Retention:Rules:failed-messages:Days", "60")))
        {
            var kept = await AddFailedMessageAsync(services, DaysAgo(59));
            var gone = await AddFailedMessageAsync(services, DaysAgo(61));
            await RunAsync(services);
            Assert.True(await ExistsAsync<FailedMessage>(services, m => m.Id == kept));
            Assert.False(await ExistsAsync<FailedMessage>(services, m => m.Id == gone));
        }
    }

    protected async Task SourceBlobsOfFinishedSessionsAreDeleted()
    {
        await using var services = await StartAsync();
        var due = await AddSessionAsync(services, ScanSessionStatus.Completed, finished: DaysAgo(8), uploads: 3);
        var notYet = await AddSessionAsync(services, ScanSessionStatus.Failed, finished: DaysAgo(6), uploads: 2);
        var running = await AddSessionAsync(services, ScanSessionStatus.Scanning, finished: null, uploads: 2, created: DaysAgo(100));

        await RunAsync(services);

        Assert.Empty(await BlobsAsync(services, $"scan-uploads/{due:N}/"));
        Assert.Equal(2, (await BlobsAsync(services, $"scan-uploads/{notYet:N}/")).Count);
        Assert.Equal(2, (await BlobsAsync(services, $"scan-uploads/{running:N}/")).Count);
        var row = await SessionAsync(services, due);
        Assert.Equal(Now, row!.SourceDeletedAt);
        Assert.Null((await SessionAsync(services, running))!.SourceDeletedAt);
    }

    protected async Task ReportsOfOldSessionsAreDeletedAndTheirKeyCleared()
    {
        await using var services = await StartAsync();
        var due = await AddSessionAsync(services, ScanSessionStatus.Completed, finished: DaysAgo(31), report: true);
        var recent = await AddSessionAsync(services, ScanSessionStatus.Completed, finished: DaysAgo(29), report: true);

        await RunAsync(services);

        var blobs = services.GetRequiredService<IBlobStore>();
        Assert.False(await blobs.ExistsAsync(BuildScanReportConsumer.ReportKey(due)));
        Assert.Null((await SessionAsync(services, due))!.ReportBlobKey);
        Assert.True(await blobs.ExistsAsync(BuildScanReportConsumer.ReportKey(recent)));
        Assert.NotNull((await SessionAsync(services, recent))!.ReportBlobKey);
    }

    protected async Task FileResultsOfFinishedSessionsAreDeletedInBatchesAndTheSessionRowIsKept()
    {
        await using var services = await StartAsync(("Retention:BatchSize", "10"));
        var due = await AddSessionAsync(services, ScanSessionStatus.Cancelled, finished: DaysAgo(31), results: 25);
        var recent = await AddSessionAsync(services, ScanSessionStatus.Completed, finished: DaysAgo(29), results: 3);
        var running = await AddSessionAsync(services, ScanSessionStatus.Scanning, finished: null, results: 4, created: DaysAgo(200));
        // Finished long ago by its row but still counted as running (no end time): never touched.
        var reporting = await AddSessionAsync(services, ScanSessionStatus.Reporting, finished: null, results: 2, created: DaysAgo(200));

        var outcomes = await RunAsync(services);

        Assert.Equal(0, await CountAsync<ScanFileResult>(services, r => r.SessionId == due));
        Assert.NotNull(await SessionAsync(services, due));
        Assert.Equal(3, await CountAsync<ScanFileResult>(services, r => r.SessionId == recent));
        Assert.Equal(4, await CountAsync<ScanFileResult>(services, r => r.SessionId == running));
        Assert.Equal(2, await CountAsync<ScanFileResult>(services, r => r.SessionId == reporting));
        Assert.True(Assert.Single(outcomes, o => o.Rule == "scan-file-results").Batches >= 3);
    }

    protected async Task FinishedScanSessionSagasAreDeletedAndRunningOnesKept()
    {
        await using var services = await StartAsync();
        var completed = await AddSagaAsync(services, new ScanSessionState { CurrentState = "Completed", StartedAt = DaysAgo(32), FinishedAt = DaysAgo(31) });
        var failed = await AddSagaAsync(services, new ScanSessionState { CurrentState = "Failed", StartedAt = DaysAgo(32), FinishedAt = DaysAgo(31) });
        var cancelled = await AddSagaAsync(services, new ScanSessionState { CurrentState = "Cancelled", StartedAt = DaysAgo(32), FinishedAt = DaysAgo(31) });
        var recent = await AddSagaAsync(services, new ScanSessionState { CurrentState = "Completed", StartedAt = DaysAgo(30), FinishedAt = DaysAgo(29) });
        var scanning = await AddSagaAsync(services, new ScanSessionState { CurrentState = "Scanning", StartedAt = DaysAgo(300) });

        await RunAsync(services);

        Assert.Equal(0, await CountAsync<ScanSessionState>(services, s => s.CorrelationId == completed || s.CorrelationId == failed || s.CorrelationId == cancelled));
        Assert.Equal(2, await CountAsync<ScanSessionState>(services, s => s.CorrelationId == recent || s.CorrelationId == scanning));
    }

    protected async Task SessionRowsGoAfterAYearWithEverythingLeftOfThem()
    {
        await using var services = await StartAsync(("Retention:BatchSize", "10"), ("Retention:Rules:scan-uploads:Enabled", "false"), ("Retention:Rules:scan-reports:Enabled", "false"), ("Retention:Rules:scan-file-results:Enabled", "false"));
        var due = await AddSessionAsync(services, ScanSessionStatus.Completed, finished: DaysAgo(366), uploads: 2, report: true, results: 15);
        var recent = await AddSessionAsync(services, ScanSessionStatus.Completed, finished: DaysAgo(364), results: 1);
        var dispatching = await AddSessionAsync(services, ScanSessionStatus.Dispatching, finished: null, uploads: 1, created: DaysAgo(400));

        await RunAsync(services);

        Assert.Null(await SessionAsync(services, due));
        Assert.Equal(0, await CountAsync<ScanFileResult>(services, r => r.SessionId == due));
        Assert.Empty(await BlobsAsync(services, $"scan-uploads/{due:N}/"));
        Assert.False(await services.GetRequiredService<IBlobStore>().ExistsAsync(BuildScanReportConsumer.ReportKey(due)));
        Assert.NotNull(await SessionAsync(services, recent));
        Assert.NotNull(await SessionAsync(services, dispatching));
        Assert.Single(await BlobsAsync(services, $"scan-uploads/{dispatching:N}/"));
    }

    protected async Task ItemsOfFinishedLlmJobsAreDeletedAndTheJobRowKept()
    {
        await using var services = await StartAsync(("Retention:BatchSize", "10"));
        var due = await AddJobAsync(services, LlmJobStatus.Completed, finished: DaysAgo(31), items: 23, batches: 2);
        var recent = await AddJobAsync(services, LlmJobStatus.Failed, finished: DaysAgo(29), items: 2, batches: 0);
        var running = await AddJobAsync(services, LlmJobStatus.Running, finished: null, items: 3, batches: 1, created: DaysAgo(200));

        await RunAsync(services);

        Assert.Equal(0, await CountAsync<LlmJobItem>(services, i => i.JobId == due));
        Assert.Equal(0, await CountAsync<LlmJobBatch>(services, b => b.JobId == due));
        Assert.True(await ExistsAsync<LlmJob>(services, j => j.Id == due));
        Assert.Equal(2, await CountAsync<LlmJobItem>(services, i => i.JobId == recent));
        Assert.Equal(3, await CountAsync<LlmJobItem>(services, i => i.JobId == running));
        Assert.Equal(1, await CountAsync<LlmJobBatch>(services, b => b.JobId == running));
    }

    protected async Task FinishedLlmJobSagasAreDeletedAndRunningOnesKept()
    {
        await using var services = await StartAsync();
        var completed = await AddSagaAsync(services, new LlmJobState { CurrentState = "Completed", AcceptedAt = DaysAgo(40), ExpiresAt = DaysAgo(39), FinishedAt = DaysAgo(31) });
        var cancelled = await AddSagaAsync(services, new LlmJobState { CurrentState = "Cancelled", AcceptedAt = DaysAgo(40), ExpiresAt = DaysAgo(39), FinishedAt = DaysAgo(31) });
        var recent = await AddSagaAsync(services, new LlmJobState { CurrentState = "Failed", AcceptedAt = DaysAgo(40), ExpiresAt = DaysAgo(39), FinishedAt = DaysAgo(29) });
        // Finished long ago, but its deadline could still be on its way.
        var deadlineAhead = await AddSagaAsync(services, new LlmJobState { CurrentState = "Completed", AcceptedAt = DaysAgo(40), ExpiresAt = DaysAgo(-1), FinishedAt = DaysAgo(31) });
        var stopping = await AddSagaAsync(services, new LlmJobState { CurrentState = "Stopping", AcceptedAt = DaysAgo(300), ExpiresAt = DaysAgo(299) });

        await RunAsync(services);

        Assert.Equal(0, await CountAsync<LlmJobState>(services, s => s.CorrelationId == completed || s.CorrelationId == cancelled));
        Assert.Equal(3, await CountAsync<LlmJobState>(services, s => s.CorrelationId == recent || s.CorrelationId == deadlineAhead || s.CorrelationId == stopping));
    }

    protected async Task LlmJobRowsGoAfterAYearAndTheEntityFlagsStay()
    {
        await using var services = await StartAsync(("Retention:BatchSize", "10"), ("Retention:Rules:llm-job-items:Enabled", "false"));
        var due = await AddJobAsync(services, LlmJobStatus.Cancelled, finished: DaysAgo(366), items: 12, batches: 1);
        var recent = await AddJobAsync(services, LlmJobStatus.Completed, finished: DaysAgo(364), items: 1, batches: 0);
        var queued = await AddJobAsync(services, LlmJobStatus.Queued, finished: null, items: 1, batches: 0, created: DaysAgo(500));
        await using (var db = NewContext(services))
        {
            db.Add(new EntityFlag { EntityType = "post", EntityId = due.ToString("N"), JobId = due, ItemId = "item-0", Category = "spam", Model = "m", DecidedAt = DaysAgo(366) });
            await db.SaveChangesAsync();
        }

        await RunAsync(services);

        Assert.False(await ExistsAsync<LlmJob>(services, j => j.Id == due));
        Assert.Equal(0, await CountAsync<LlmJobItem>(services, i => i.JobId == due));
        Assert.True(await ExistsAsync<EntityFlag>(services, f => f.JobId == due));
        Assert.True(await ExistsAsync<LlmJob>(services, j => j.Id == recent));
        Assert.True(await ExistsAsync<LlmJob>(services, j => j.Id == queued));
    }

    protected async Task FinishedPromptAnalysisSagasAreDeletedAndUnfinishedOnesKept()
    {
        await using var services = await StartAsync();
        var completed = await AddSagaAsync(services, new PromptAnalysisState { CurrentState = "Completed", StartedAt = DaysAgo(32), FinishedAt = DaysAgo(31) });
        var failed = await AddSagaAsync(services, new PromptAnalysisState { CurrentState = "Failed", StartedAt = DaysAgo(32), FinishedAt = DaysAgo(31) });
        var recent = await AddSagaAsync(services, new PromptAnalysisState { CurrentState = "Completed", StartedAt = DaysAgo(30), FinishedAt = DaysAgo(29) });
        var asking = await AddSagaAsync(services, new PromptAnalysisState { CurrentState = "Asking", StartedAt = DaysAgo(300) });
        var awaiting = await AddSagaAsync(services, new PromptAnalysisState { CurrentState = "AwaitingStart" });

        await RunAsync(services);

        Assert.Equal(0, await CountAsync<PromptAnalysisState>(services, s => s.CorrelationId == completed || s.CorrelationId == failed));
        Assert.Equal(3, await CountAsync<PromptAnalysisState>(services, s => s.CorrelationId == recent || s.CorrelationId == asking || s.CorrelationId == awaiting));
    }

    public void Dispose()
    {
        if (Directory.Exists(_contentRoot))
            Directory.Delete(_contentRoot, recursive: true);
        OnDispose();
        GC.SuppressFinalize(this);
    }

    protected virtual void OnDispose()
    {
    }

    // The services a process registers for the retention run: persistence, the infrastructure's rule and every
    // workflow's AddServices (which is where the workflows declare their rules), with this clock.
    private async Task<ServiceProvider> StartAsync(params (string Key, string Value)[] settings)
    {
        Directory.CreateDirectory(_contentRoot);
        var values = new Dictionary<string, string?>
        {
            ["Database:Provider"] = Provider.ToString(),
            ["Database:ConnectionString"] = ConnectionString,
            ["Retention:PauseBetweenBatches"] = "00:00:00",
        };
        foreach (var (key, value) in settings)
            values[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();

        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton<TimeProvider>(_clock);
        services.AddSagasPersistence(configuration, _contentRoot, SagasWorkflows.Model);
        services.AddSagasRetention(configuration);
        services.AddAssistantQuestionsRetention();
        services.AddBulkOperationsRetention();
        var roles = WorkerRoles.Parse(SagasHostingExtensions.SchedulerRole.Name, SagasHostingExtensions.KnownRoles(SagasWorkflows.Catalog));
        var workflow = new WorkflowServices(services, configuration, _contentRoot, roles);
        foreach (var module in SagasWorkflows.Catalog.Modules)
            module.AddServices(workflow);

        var provider = services.BuildServiceProvider();
        await using var db = NewContext(provider);
        await PrepareAsync(db);
        return provider;
    }

    private static SagasDbContext NewContext(IServiceProvider services) =>
        services.CreateScope().ServiceProvider.GetRequiredService<SagasDbContext>();

    private static async Task<IReadOnlyList<RetentionRuleOutcome>> RunAsync(IServiceProvider services)
    {
        await using var scope = services.CreateAsyncScope();
        var outcomes = await scope.ServiceProvider.GetRequiredService<RetentionRunner>().RunAsync(CancellationToken.None);
        Assert.All(outcomes, outcome => Assert.Null(outcome.Error));
        return outcomes;
    }

    private static async Task<bool> ExistsAsync<T>(IServiceProvider services, System.Linq.Expressions.Expression<Func<T, bool>> predicate)
        where T : class
    {
        await using var db = NewContext(services);
        return await db.Set<T>().AnyAsync(predicate);
    }

    private static async Task<int> CountAsync<T>(IServiceProvider services, System.Linq.Expressions.Expression<Func<T, bool>> predicate)
        where T : class
    {
        await using var db = NewContext(services);
        return await db.Set<T>().CountAsync(predicate);
    }

    private static async Task<ScanSession?> SessionAsync(IServiceProvider services, Guid id)
    {
        await using var db = NewContext(services);
        return await db.Set<ScanSession>().AsNoTracking().SingleOrDefaultAsync(s => s.Id == id);
    }

    private static async Task<List<string>> BlobsAsync(IServiceProvider services, string prefix)
    {
        var keys = new List<string>();
        await foreach (var blob in services.GetRequiredService<IBlobStore>().ListAsync(prefix))
            keys.Add(blob.Key);
        return keys;
    }

    private static async Task<Guid> AddFailedMessageAsync(IServiceProvider services, DateTimeOffset faultedAt)
    {
        await using var db = NewContext(services);
        var row = new FailedMessage
        {
            Id = Guid.NewGuid(),
            MessageId = Guid.NewGuid(),
            Queue = "retention-probe",
            ExceptionType = "System.InvalidOperationException",
            ExceptionMessage = "probe",
            FaultedAt = faultedAt,
            Body = Encoding.UTF8.GetBytes("{}"),
            ContentType = "application/json",
        };
        db.Add(row);
        await db.SaveChangesAsync();
        return row.Id;
    }

    private static async Task<Guid> AddAssistantQuestionAsync(IServiceProvider services, DateTimeOffset askedAt)
    {
        await using var db = NewContext(services);
        var row = new AssistantQuestion
        {
            Id = Guid.NewGuid(), AskedAt = askedAt, Provider = "simulated", Model = "simulated", Outcome = AssistantQuestionOutcome.Answered,
            InputTokens = 10, OutputTokens = 5, ToolCalls = 1, Rounds = 2, PromptCharacters = 20, ExecutionTimeMs = 3,
        };
        db.Add(row);
        await db.SaveChangesAsync();
        return row.Id;
    }

    private static async Task<Guid> AddSessionAsync(
        IServiceProvider services, string status, DateTimeOffset? finished, int uploads = 0, bool report = false, int results = 0, DateTimeOffset? created = null)
    {
        var id = Guid.NewGuid();
        var blobs = services.GetRequiredService<IBlobStore>();
        var uploadKeys = new List<string>();
        for (var i = 0; i < uploads; i++)
        {
            var key = $"scan-uploads/{id:N}/upload-{i:D5}";
            await blobs.PutAsync(key, new MemoryStream([1, 2, 3]), "application/octet-stream");
            uploadKeys.Add(key);
        }

        string? reportKey = null;
        if (report)
        {
            reportKey = BuildScanReportConsumer.ReportKey(id);
            await blobs.PutAsync(reportKey, new MemoryStream([4, 5, 6]), BuildScanReportConsumer.ContentType);
        }

        await using var db = NewContext(services);
        db.Add(new ScanSession
        {
            Id = id,
            Status = status,
            TotalFiles = results,
            ProcessedFiles = results,
            UploadsJson = "[" + string.Join(",", uploadKeys.Select(k => $"\"{k}\"")) + "]",
            ReportBlobKey = reportKey,
            CreatedAt = created ?? (finished ?? Now) - TimeSpan.FromHours(1),
            CompletedAt = finished,
        });
        for (var i = 0; i < results; i++)
            db.Add(new ScanFileResult { SessionId = id, FileIndex = i, Name = $"f{i}.txt", Kind = "upload", Locator = $"upload:{i}", Status = "No Code", ProcessedAt = finished ?? Now });
        await db.SaveChangesAsync();
        return id;
    }

    private static async Task<Guid> AddHistoryAsync(IServiceProvider services, Guid id, params DateTimeOffset[] times)
    {
        await using var db = NewContext(services);
        var sequence = 0;
        foreach (var at in times)
        {
            sequence++;
            db.Add(new SagaHistoryEntry
            {
                Saga = "CounterState", CorrelationId = id, Sequence = sequence, Event = "Ticked", MessageId = Guid.NewGuid(),
                StateBefore = "Active", StateAfter = "Active", At = at,
            });
        }

        await db.SaveChangesAsync();
        return id;
    }

    private static async Task<Guid> AddJobAsync(IServiceProvider services, string status, DateTimeOffset? finished, int items, int batches, DateTimeOffset? created = null)
    {
        var id = Guid.NewGuid();
        var createdAt = created ?? (finished ?? Now) - TimeSpan.FromHours(1);
        await using var db = NewContext(services);
        db.Add(new LlmJob { Id = id, Kind = "flagging", Model = "m", Status = status, Provider = "simulated", TotalItems = items, CreatedAt = createdAt, FinishedAt = finished, ExpiresAt = createdAt + TimeSpan.FromDays(1) });
        for (var i = 0; i < items; i++)
            db.Add(new LlmJobItem { JobId = id, ItemId = $"item-{i}", Sequence = i, EntityType = "post", EntityId = i.ToString(System.Globalization.CultureInfo.InvariantCulture), Input = "text", Status = "succeeded", CreatedAt = createdAt });
        for (var i = 0; i < batches; i++)
            db.Add(new LlmJobBatch { JobId = id, BatchId = $"batch-{i}", Status = "completed", CreatedAt = createdAt });
        await db.SaveChangesAsync();
        return id;
    }

    private static async Task<Guid> AddSagaAsync<T>(IServiceProvider services, T saga)
        where T : class, MassTransit.SagaStateMachineInstance
    {
        saga.CorrelationId = Guid.NewGuid();
        await using var db = NewContext(services);
        db.Add(saga);
        await db.SaveChangesAsync();
        return saga.CorrelationId;
    }
}

public sealed class When_retention_runs_on_postgresql : RetentionSpecs, IClassFixture<PostgresDatabase>
{
    private readonly PostgresDatabase _database;

    public When_retention_runs_on_postgresql(PostgresDatabase database) => _database = database;

    protected override DatabaseProvider Provider => DatabaseProvider.PostgreSql;

    protected override string ConnectionString => _database.ConnectionString;

    protected override Task PrepareAsync(SagasDbContext db) => db.Database.MigrateAsync();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_failed_messages_older_than_their_period() => FailedMessagesOlderThanTheirPeriodAreDeleted();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_assistant_questions_older_than_their_period() => AssistantQuestionsOlderThanTheirPeriodAreDeleted();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_finished_bulk_operations_older_than_their_period_and_keep_running_ones() => FinishedBulkOperationsOlderThanTheirPeriodAreDeleted();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_in_bounded_batches_until_nothing_is_due() => EachBatchIsBoundedAndTheRunGoesOnUntilNothingIsDue();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_the_history_of_instances_quiet_for_the_whole_period_only() => HistoryOfInstancesQuietForTheWholePeriodIsDeleted();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_keep_what_a_disabled_or_lengthened_rule_covers() => ARuleSwitchedOffOrLengthenedKeepsWhatItWouldHaveDeleted();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_the_source_blobs_of_finished_sessions_only() => SourceBlobsOfFinishedSessionsAreDeleted();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_old_reports_and_clear_their_key() => ReportsOfOldSessionsAreDeletedAndTheirKeyCleared();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_file_results_of_finished_sessions_only() => FileResultsOfFinishedSessionsAreDeletedInBatchesAndTheSessionRowIsKept();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_finished_scan_session_sagas_only() => FinishedScanSessionSagasAreDeletedAndRunningOnesKept();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_year_old_sessions_with_all_they_left() => SessionRowsGoAfterAYearWithEverythingLeftOfThem();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_items_of_finished_llm_jobs_only() => ItemsOfFinishedLlmJobsAreDeletedAndTheJobRowKept();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_finished_llm_job_sagas_only() => FinishedLlmJobSagasAreDeletedAndRunningOnesKept();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_year_old_llm_jobs_and_keep_entity_flags() => LlmJobRowsGoAfterAYearAndTheEntityFlagsStay();

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_delete_finished_prompt_analysis_sagas_only() => FinishedPromptAnalysisSagasAreDeletedAndUnfinishedOnesKept();
}

public sealed class When_retention_runs_on_sqlite : RetentionSpecs
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"sagas-retention-{Guid.NewGuid():N}.db");

    protected override DatabaseProvider Provider => DatabaseProvider.Sqlite;

    protected override string ConnectionString => $"Data Source={_file};Pooling=False";

    protected override Task PrepareAsync(SagasDbContext db) => db.Database.EnsureCreatedAsync();

    [Fact]
    public Task Should_delete_failed_messages_older_than_their_period() => FailedMessagesOlderThanTheirPeriodAreDeleted();

    [Fact]
    public Task Should_delete_assistant_questions_older_than_their_period() => AssistantQuestionsOlderThanTheirPeriodAreDeleted();

    [Fact]
    public Task Should_delete_finished_bulk_operations_older_than_their_period_and_keep_running_ones() => FinishedBulkOperationsOlderThanTheirPeriodAreDeleted();

    [Fact]
    public Task Should_delete_in_bounded_batches_until_nothing_is_due() => EachBatchIsBoundedAndTheRunGoesOnUntilNothingIsDue();

    [Fact]
    public Task Should_delete_the_history_of_instances_quiet_for_the_whole_period_only() => HistoryOfInstancesQuietForTheWholePeriodIsDeleted();

    [Fact]
    public Task Should_keep_what_a_disabled_or_lengthened_rule_covers() => ARuleSwitchedOffOrLengthenedKeepsWhatItWouldHaveDeleted();

    [Fact]
    public Task Should_delete_the_source_blobs_of_finished_sessions_only() => SourceBlobsOfFinishedSessionsAreDeleted();

    [Fact]
    public Task Should_delete_old_reports_and_clear_their_key() => ReportsOfOldSessionsAreDeletedAndTheirKeyCleared();

    [Fact]
    public Task Should_delete_file_results_of_finished_sessions_only() => FileResultsOfFinishedSessionsAreDeletedInBatchesAndTheSessionRowIsKept();

    [Fact]
    public Task Should_delete_finished_scan_session_sagas_only() => FinishedScanSessionSagasAreDeletedAndRunningOnesKept();

    [Fact]
    public Task Should_delete_year_old_sessions_with_all_they_left() => SessionRowsGoAfterAYearWithEverythingLeftOfThem();

    [Fact]
    public Task Should_delete_items_of_finished_llm_jobs_only() => ItemsOfFinishedLlmJobsAreDeletedAndTheJobRowKept();

    [Fact]
    public Task Should_delete_finished_llm_job_sagas_only() => FinishedLlmJobSagasAreDeletedAndRunningOnesKept();

    [Fact]
    public Task Should_delete_year_old_llm_jobs_and_keep_entity_flags() => LlmJobRowsGoAfterAYearAndTheEntityFlagsStay();

    [Fact]
    public Task Should_delete_finished_prompt_analysis_sagas_only() => FinishedPromptAnalysisSagasAreDeletedAndUnfinishedOnesKept();

    protected override void OnDispose() => File.Delete(_file);
}
