using System.IO.Compression;
using System.Text;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Contracts.LlmJobs;
using Sagas.Contracts.ScanSessions;
using Sagas.Hosting;
using Sagas.Integration.Tests.Transports;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.StateMachines;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Runs;
using Sagas.PromptAnalyses.StateMachines;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.StateMachines;
using Sagas.Storage;
using Sagas.Storage.Blobs;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Faults;

/// <summary>
/// One fault spec's world: a fresh database on the dedicated PostgreSQL cluster, a broker namespace of its own (a fresh
/// virtual host on RabbitMQ, a fresh emulator and name prefix on Amazon SQS), a blob folder, the worker processes, and
/// an in-process client (no worker role) that publishes commands, reads the database and optionally hosts spec
/// consumers (probes, duplicators). Every process is pointed at the broker through the transport's settings only.
/// </summary>
public sealed class FaultScenario : IAsyncDisposable
{
    private readonly List<WorkerProcess> _workers = [];
    private readonly ITestTransport _broker;
    private readonly string _root;
    private readonly string _connectionString;
    private IHost? _client;
    private string? _lastBusyQueues;

    private FaultScenario(ITestTransport broker, string root, string connectionString)
    {
        _broker = broker;
        _root = root;
        _connectionString = connectionString;
    }

    public IServiceProvider Services => _client?.Services ?? throw new InvalidOperationException("The client is not started.");

    public IBus Bus => Services.GetRequiredService<IBus>();

    public string ConnectionString => _connectionString;

    public ITestTransport Broker => _broker;

    public static async Task<FaultScenario> StartAsync<TTransport>(
        FaultServers servers,
        Action<IBusRegistrationConfigurator>? configureClient = null,
        Action<IServiceCollection>? configureServices = null)
        where TTransport : class, ITestTransport, new()
    {
        var broker = new TTransport();
        await broker.InitializeAsync();
        FaultScenario? scenario = null;
        try
        {
            var connectionString = await servers.Postgres.CreateDatabaseAsync();
            var root = Path.Combine(Path.GetTempPath(), $"sagas-faults-{Guid.NewGuid():N}");
            Directory.CreateDirectory(root);
            scenario = new FaultScenario(broker, root, connectionString);
            await scenario.StartClientAsync(configureClient, configureServices);
            return scenario;
        }
        catch
        {
            if (scenario is not null)
                await scenario.DisposeAsync();
            else
                await broker.DisposeAsync();
            throw;
        }
    }

    /// <summary>Settings every process of the scenario shares; <paramref name="roles"/> decides what it runs.</summary>
    public Dictionary<string, string> Settings(string roles) => new(_broker.HostSettings.Select(setting => KeyValuePair.Create(setting.Key, setting.Value ?? "")))
    {
        ["Database:Provider"] = "PostgreSql",
        ["Database:ConnectionString"] = _connectionString,
        ["Worker:Roles"] = roles,
        ["Storage:Provider"] = "Local",
        ["Storage:Local:Root"] = Path.Combine(_root, "blobs"),
        ["Storage:Local:SigningKey"] = new string('k', 40),
        ["ScanSessions:ProgressInterval"] = "00:00:00",
        ["LlmJobs:Polling:Interval"] = "00:00:01",
        ["LlmJobs:Polling:MinInterval"] = "00:00:01",
        ["LlmJobs:Polling:MaxInterval"] = "00:00:02",
        ["Scheduling:Schedules:llm-job-poll:Cron"] = "0/1 * * * * ?",
        ["Scheduling:ClusterCheckinInterval"] = "00:00:01",
        ["LlmJobs:Providers:Simulated:MinLatency"] = "00:00:00.300",
        ["LlmJobs:Providers:Simulated:MaxLatency"] = "00:00:00.600",
        ["LlmJobs:Providers:Simulated:FailureRate"] = "0",
        // Every platform answers (no failures, no 429s) so the analysis counts are known in advance.
        ["PromptAnalyses:Platforms:Simulated:MinLatencyMs"] = "100",
        ["PromptAnalyses:Platforms:Simulated:MaxLatencyMs"] = "400",
        ["PromptAnalyses:Platforms:Simulated:FailureRate"] = "0",
        ["PromptAnalyses:Platforms:Simulated:RateLimitRate"] = "0",
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
    };

    public async Task<WorkerProcess> StartWorkerAsync(string name, string roles, IReadOnlyDictionary<string, string>? overrides = null)
    {
        var settings = Settings(roles);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
            settings[key] = value;
        var worker = await WorkerProcess.StartAsync(name, settings);
        _workers.Add(worker);
        return worker;
    }

    /// <summary>
    /// The built Sagas.Api as a process of its own, deployed as in production: no worker role, API-key authentication
    /// (<paramref name="apiKey"/>), the scenario's broker, database and blob folder.
    /// </summary>
    public async Task<WorkerProcess> StartApiAsync(string apiKey)
    {
        var settings = Settings("none");
        settings["Security:ApiKeys:0:Name"] = "fault-specs";
        settings["Security:ApiKeys:0:Sha256"] = Sagas.Api.Security.ApiKeyHash.Compute(apiKey);
        settings["Api:MutationsPerMinute"] = "100000";
        var api = await WorkerProcess.StartAsync("api", settings, assembly: WorkerProcess.ApiAssemblyPath);
        _workers.Add(api);
        return api;
    }

    /// <summary>What every worker printed (and, after a drain timed out, which queues still held messages), for a failure message.</summary>
    public string WorkerOutput =>
        string.Join(Environment.NewLine, _workers.Select(w => $"--- {w.Name} (pid {w.Id}{(w.HasExited ? ", exited" : "")}) ---{Environment.NewLine}{w.Output}"))
        + (_lastBusyQueues is { } busy ? $"{Environment.NewLine}--- {_broker.Name} queues not drained at the last look: {busy}" : "");

    public async Task<T> QueryAsync<T>(Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; a timeout fails with the workers' output.</summary>
    /// <param name="describe">On a timeout, what the database says about the state waited for (added to the message).</param>
    public async Task WaitUntilAsync(string what, Func<Task<bool>> condition, TimeSpan timeout, Func<Task<string>>? describe = null)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            try
            {
                if (await condition())
                    return;
            }
            catch (Exception exception) when (exception is Npgsql.NpgsqlException or InvalidOperationException { InnerException: Npgsql.NpgsqlException } || SagasTransient(exception))
            {
                // The database may be restarting under the spec; ask again.
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
            }
            catch (OperationCanceledException)
            {
                var state = describe is null ? "" : await describe() + Environment.NewLine;
                throw new TimeoutException($"{what} did not happen within {timeout}.{Environment.NewLine}{state}{WorkerOutput}");
            }
        }
    }

    public Task<ScanSession?> SessionAsync(Guid sessionId) =>
        QueryAsync(db => db.Set<ScanSession>().AsNoTracking().SingleOrDefaultAsync(s => s.Id == sessionId));

    public Task<LlmJob?> JobAsync(Guid jobId) =>
        QueryAsync(db => db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId));

    public Task<string?> ScanSagaStateAsync(Guid sessionId) =>
        QueryAsync(db => db.Set<ScanSessionState>().AsNoTracking().Where(s => s.CorrelationId == sessionId).Select(s => s.CurrentState).SingleOrDefaultAsync());

    public Task<string?> LlmSagaStateAsync(Guid jobId) =>
        QueryAsync(db => db.Set<LlmJobState>().AsNoTracking().Where(s => s.CorrelationId == jobId).Select(s => s.CurrentState).SingleOrDefaultAsync());

    /// <summary>
    /// Every consumed queue of the scenario's broker empty (nothing ready, nothing unacknowledged or in flight, nothing
    /// delayed), seen several times in a row: nothing is left to deliver or redeliver, so the counts read afterwards are
    /// final. Queues nobody consumes (error and skipped queues, on RabbitMQ also the poll tick of a role no process
    /// runs) cannot change any count and are left out; SQS cannot tell who consumes a queue, so there every queue but
    /// the error and skipped ones must drain, and a killed worker's messages count until their visibility timeout ends
    /// and a live worker has taken them.
    /// </summary>
    public Task WaitForQuietBrokerAsync(TimeSpan timeout) => WaitUntilAsync("every consumed queue drained", async () =>
    {
        for (var look = 0; look < 3; look++)
        {
            var busy = (await _broker.QueuesAsync()).Where(queue => !queue.IsDeadEnd && queue.Messages != 0 && queue.Consumers != 0).ToList();
            if (busy.Count > 0)
            {
                _lastBusyQueues = string.Join(", ", busy.Select(queue => $"{queue.Name}: {queue.Messages}"));
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(300));
        }

        return true;
    }, timeout);

    /// <summary>Messages that ended in an _error queue: each one is a message the system gave up on.</summary>
    /// <summary>
    /// Queues holding messages nobody will consume again: <c>_error</c> (a consumer gave up) and <c>_skipped</c> (the
    /// endpoint received a message and no consumer took it, as MassTransit does when a consume ends without either
    /// consuming or faulting).
    /// </summary>
    public async Task<IReadOnlyList<string>> ErrorQueuesAsync() =>
        [.. (await _broker.QueuesAsync())
            .Where(queue => (queue.Name.EndsWith("_error", StringComparison.Ordinal) || queue.Name.EndsWith("_skipped", StringComparison.Ordinal)) && queue.Messages != 0)
            .Select(queue => $"{queue.Name}: {queue.Messages}")];

    /// <summary>Every queue holding messages, for a wait that timed out.</summary>
    public async Task<string> NonEmptyQueuesAsync() =>
        string.Join(", ", (await _broker.QueuesAsync()).Where(queue => queue.Messages != 0).Select(queue => $"{queue.Name}: {queue.Messages}"));

    /// <summary>
    /// Uploads a ZIP of <paramref name="files"/> small text files: every 4th holds EB-101, every 10th also GH-7.
    /// Returns the session's start command with the matches and matched files it must end with.
    /// </summary>
    public async Task<(StartScanSession Start, int Matches, int MatchedFiles)> UploadArchiveAsync(int files)
    {
        var (zip, matches, matchedFiles) = Archive(files);
        var sessionId = NewId.NextGuid();
        var key = $"scan-uploads/{sessionId:N}/sheets.zip";
        await Services.GetRequiredService<IBlobStore>().PutAsync(key, new MemoryStream(zip), "application/zip");
        var start = new StartScanSession(sessionId, new ScanSource(Uploads: [new ScanUpload(key, "sheets.zip")]), ArchiveCodes, "fault-specs");
        return (start, matches, matchedFiles);
    }

    /// <summary>The codes <see cref="Archive"/> hides.</summary>
    public static readonly string[] ArchiveCodes = ["EB-101", "GH-7"];

    /// <summary>The ZIP of <see cref="UploadArchiveAsync"/>, with the matches and matched files it must give.</summary>
    public static (byte[] Zip, int Matches, int MatchedFiles) Archive(int files)
    {
        var matches = 0;
        var matchedFiles = 0;
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < files; i++)
            {
                var text = new StringBuilder($"sheet {i}: ");
                var found = 0;
                if (i % 4 == 0)
                {
                    text.Append("hole EB-101 drilled; ");
                    found++;
                }

                if (i % 10 == 0)
                {
                    text.Append("GH-7 and again GH-7; ");
                    found++;
                }

                text.Append("end");
                matches += found;
                matchedFiles += found > 0 ? 1 : 0;
                using var entry = zip.CreateEntry($"sheets/s-{i:00000}.txt", CompressionLevel.Fastest).Open();
                entry.Write(Encoding.UTF8.GetBytes(text.ToString()));
            }
        }

        return (buffer.ToArray(), matches, matchedFiles);
    }

    public static SubmitLlmJob Job(Guid jobId, int items) => new(
        jobId, "flagging", null, null, LlmJobPriority.Normal, LlmJobMode.Background,
        [.. Enumerable.Range(1, items).Select(i => new LlmJobItemInput($"i{i}", "post", $"{jobId:N}-{i}", $"input {i}"))],
        DateTimeOffset.UtcNow.AddHours(1), "fault-specs");

    /// <summary>The end state of a session that must have counted every file exactly once.</summary>
    public async Task AssertSessionExactAsync(Guid sessionId, int total, int matches, int matchedFiles)
    {
        var session = await SessionAsync(sessionId) ?? throw new InvalidOperationException($"session {sessionId} has no row");
        var indexes = await QueryAsync(db => db.Set<ScanFileResult>().AsNoTracking().Where(r => r.SessionId == sessionId).Select(r => r.FileIndex).ToListAsync());
        var resultMatches = await QueryAsync(db => db.Set<ScanFileResult>().Where(r => r.SessionId == sessionId).SumAsync(r => r.MatchCount));
        Assert.Equal(ScanSessionStatus.Completed, session.Status);
        Assert.Equal(total, session.TotalFiles);
        Assert.Equal(total, session.ProcessedFiles);
        Assert.Equal(Enumerable.Range(0, total), indexes.Order());
        Assert.Equal(matches, session.TotalMatches);
        Assert.Equal(matches, resultMatches);
        Assert.Equal(matchedFiles, session.MatchedFiles);
        Assert.Equal(0, session.ErrorFiles);
        Assert.Equal($"scan-reports/{sessionId:D}.xlsx", session.ReportBlobKey);
        Assert.Equal("Completed", await ScanSagaStateAsync(sessionId));
    }

    /// <summary>The end state of a job whose every item must have been decided exactly once.</summary>
    public async Task AssertJobExactAsync(Guid jobId, int items)
    {
        var job = await JobAsync(jobId) ?? throw new InvalidOperationException($"job {jobId} has no row");
        Assert.Equal(LlmJobStatus.Completed, job.Status);
        Assert.Equal((items, items, items, 0, 0), (job.TotalItems, job.ProcessedItems, job.SucceededItems, job.FailedItems, job.CancelledItems));
        Assert.Equal(items, await QueryAsync(db => db.Set<LlmJobItem>().CountAsync(i => i.JobId == jobId && i.Status == LlmJobItemStatus.Succeeded)));
        Assert.Equal(items, await QueryAsync(db => db.Set<EntityFlag>().CountAsync(f => f.JobId == jobId)));
        Assert.Equal("Completed", await LlmSagaStateAsync(jobId));
    }

    public static readonly string[] AnalysisPlatforms = ["claude", "gemini", "openai", "perplexity"];

    /// <summary>
    /// A project with <paramref name="prompts"/> active prompts, each asking the four platforms (simulated stand-ins
    /// answer for them), and an on-demand run over it started as the API starts one. Returns the run id.
    /// </summary>
    public async Task<Guid> StartAnalysisRunAsync(int prompts)
    {
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var now = DateTimeOffset.UtcNow;
        var project = new AnalysisProject { Id = NewId.NextGuid(), Name = "Acme", BrandNames = ["Acme"], Domains = ["acme.com"], CreatedAt = now, UpdatedAt = now };
        db.Add(project);
        db.AddRange(Enumerable.Range(0, prompts).Select(i => new TrackedPrompt
        {
            Id = NewId.NextGuid(), ProjectId = project.Id, Text = $"Which anvil brand is best, Acme or Forge? #{i}", Active = true,
            Platforms = [.. AnalysisPlatforms], CreatedAt = now, UpdatedAt = now,
        }));
        await db.SaveChangesAsync();
        var run = await scope.ServiceProvider.GetRequiredService<PromptAnalysisRunStarter>()
            .StartOnDemandAsync(new RunRequest(AnalysisRunScope.Project, project.Id, null, Force: true, "fault-specs"), CancellationToken.None);
        return run.RunId;
    }

    /// <summary>Analyses of the run that reached completed or failed.</summary>
    public Task<int> FinishedAnalysesAsync(Guid runId) =>
        QueryAsync(db => db.Set<AnalysisJob>().CountAsync(j => j.RunId == runId && (j.Status == AnalysisJobStatus.Completed || j.Status == AnalysisJobStatus.Failed)));

    /// <summary>Each unfinished analysis of the run with its response rows and saga state, and the outbox's size: what a stuck run is waiting for.</summary>
    public async Task<string> DescribeUnfinishedAnalysesAsync(Guid runId)
    {
        var jobs = await QueryAsync(db => db.Set<AnalysisJob>().AsNoTracking()
            .Where(j => j.RunId == runId && j.Status != AnalysisJobStatus.Completed && j.Status != AnalysisJobStatus.Failed)
            .Select(j => new { j.Id, j.Status, j.CompletedPlatforms, j.FailedPlatforms, j.TotalPlatforms })
            .Take(10).ToListAsync());
        var ids = jobs.Select(j => j.Id).ToList();
        var responses = await QueryAsync(db => db.Set<PlatformResponse>().AsNoTracking()
            .Where(r => ids.Contains(r.AnalysisJobId)).Select(r => new { r.AnalysisJobId, r.Platform, r.Status, r.ClaimId }).ToListAsync());
        var sagas = await QueryAsync(db => db.Set<PromptAnalysisState>().AsNoTracking()
            .Where(s => ids.Contains(s.CorrelationId)).Select(s => new { s.CorrelationId, s.CurrentState }).ToListAsync());
        var outbox = await QueryAsync(db => db.Set<Sagas.Messaging.Outbox.OutboxMessage>().CountAsync());
        var lines = jobs.Select(j =>
            $"analysis {j.Id}: {j.Status}, {j.CompletedPlatforms}+{j.FailedPlatforms}/{j.TotalPlatforms} platforms; saga "
            + (sagas.FirstOrDefault(s => s.CorrelationId == j.Id)?.CurrentState ?? "none") + "; responses "
            + string.Join(", ", responses.Where(r => r.AnalysisJobId == j.Id).Select(r => r.ClaimId is null ? $"{r.Platform}={r.Status}" : $"{r.Platform}={r.Status} (claimed by message {r.ClaimId})")));
        return $"outbox rows: {outbox}; queues holding messages: {await NonEmptyQueuesAsync()}{Environment.NewLine}{string.Join(Environment.NewLine, lines)}";
    }

    /// <summary>Platform responses of the run that are final (success or error).</summary>
    public Task<int> AnsweredPlatformsAsync(Guid runId) =>
        QueryAsync(db => db.Set<PlatformResponse>().CountAsync(r => r.Status != PlatformResponseStatus.Processing
            && db.Set<AnalysisJob>().Any(j => j.Id == r.AnalysisJobId && j.RunId == runId)));

    /// <summary>
    /// The end state of a run whose every platform answered: one analysis job per prompt, one successful response row
    /// per platform per job, the job and run counters equal to the rows, every analysis saga completed.
    /// </summary>
    public async Task AssertAnalysisRunExactAsync(Guid runId, int prompts)
    {
        var run = await QueryAsync(db => db.Set<AnalysisRun>().AsNoTracking().SingleAsync(r => r.Id == runId));
        var jobs = await QueryAsync(db => db.Set<AnalysisJob>().AsNoTracking().Where(j => j.RunId == runId).ToListAsync());
        var jobIds = jobs.Select(j => j.Id).ToList();
        var responses = await QueryAsync(db => db.Set<PlatformResponse>().AsNoTracking().Where(r => jobIds.Contains(r.AnalysisJobId))
            .Select(r => new { r.AnalysisJobId, r.Platform, r.Status }).ToListAsync());
        var sagas = await QueryAsync(db => db.Set<PromptAnalysisState>().AsNoTracking().Where(s => s.RunId == runId)
            .Select(s => new { s.CorrelationId, s.CurrentState, s.TotalPlatforms, s.SucceededPlatforms, s.FailedPlatforms }).ToListAsync());

        Assert.NotNull(run.DispatchedAt);
        Assert.Equal(prompts, run.TotalAnalyses);
        Assert.Equal(prompts, jobs.Count);
        Assert.Equal(prompts, jobs.Select(j => j.PromptId).Distinct().Count());
        Assert.All(jobs, job => Assert.Equal(
            (AnalysisJobStatus.Completed, AnalysisPlatforms.Length, AnalysisPlatforms.Length, 0),
            (job.Status, job.TotalPlatforms, job.CompletedPlatforms, job.FailedPlatforms)));
        Assert.Equal(prompts * AnalysisPlatforms.Length, responses.Count);
        Assert.All(jobs, job => Assert.Equal(AnalysisPlatforms, responses.Where(r => r.AnalysisJobId == job.Id).Select(r => r.Platform).Order()));
        Assert.All(responses, response => Assert.Equal(PlatformResponseStatus.Success, response.Status));
        Assert.Equal(jobIds.Order(), sagas.Select(s => s.CorrelationId).Order());
        Assert.All(sagas, saga => Assert.Equal(("Completed", AnalysisPlatforms.Length, AnalysisPlatforms.Length, 0),
            (saga.CurrentState, saga.TotalPlatforms, saga.SucceededPlatforms, saga.FailedPlatforms)));
    }

    /// <summary>Requests sent to each platform by every worker of the scenario, read from their <c>/metrics</c>.</summary>
    public async Task<IReadOnlyDictionary<string, long>> PlatformCallsAsync()
    {
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var worker in _workers.Where(w => !w.HasExited))
        {
            foreach (var (platform, count) in await worker.PlatformCallsAsync())
                calls[platform] = calls.GetValueOrDefault(platform) + count;
        }

        return calls;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
            await worker.DisposeAsync();
        if (_client is not null)
        {
            await _client.StopAsync();
            _client.Dispose();
        }

        await _broker.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    private async Task StartClientAsync(Action<IBusRegistrationConfigurator>? configureClient, Action<IServiceCollection>? configureServices)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(Settings("none").Select(pair => KeyValuePair.Create(pair.Key, (string?)pair.Value)));
        // The migration's first look for its history table fails by design; the client logs nothing else of interest.
        builder.Configuration["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "None";
        builder.Services.AddSagasBlobStore(builder.Configuration, _root);
        configureServices?.Invoke(builder.Services);
        builder.AddSagas("fault-specs-client", SagasWorkflows.Catalog, configureClient);
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        _client = builder.Build();
        // The client migrates the database before any worker starts, so workers never race to create the schema.
        await _client.StartAsync();
    }

    private static bool SagasTransient(Exception exception) => Sagas.Messaging.DatabaseErrors.IsTransient(exception);
}
