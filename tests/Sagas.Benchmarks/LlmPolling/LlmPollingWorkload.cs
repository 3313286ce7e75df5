using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Reflection;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.LlmJobs;
using Sagas.Hosting;
using Sagas.LlmJobs.Data;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Benchmarks.LlmPolling;

/// <summary>Polling settings of one run; the baseline is the Lambda poller this replaces (30 s timer).</summary>
internal sealed record PollingScenario(string Title, TimeSpan Interval, int MaxItemsPerJobPerCycle, int Parallelism, string Cron, TimeSpan CompletionLimit);

/// <summary>
/// Many background items in flight against a local OpenAI stub (GET /v1/responses/{id} answers in 50 ms, a child
/// process): the whole worker (RabbitMQ, PostgreSQL, the scheduler's tick, poll consumers, ledger, saga) runs in this
/// process, so this process's CPU time is the worker's. Measures status checks per second and CPU time / wall time while
/// every item is in progress, then flips the stub to "completed" and measures the lag until each job is completed in the
/// database (jobs.finished_at minus the flip).
/// </summary>
internal sealed class LlmPollingWorkload : IWorkload
{
    // --jit-names: what the JIT compiles during the warm-up rounds and after the flip (a diagnosis, not a figure).
    private static JitNames? _jitNames;

    public string Name => "llm-polling";

    public string Description => "status checks/s, worker CPU and completion lag for 10,000 in-flight background items (tuned vs the Lambda poller's settings). [--quick] [--jobs N] [--items N] [--window S] [--parallelism N (tuned)] [--warm (finish warm-up jobs first)] [--jit-names (what the JIT compiles, by namespace)] [--set=Section:Key=value (the worker's configuration, both scenarios)]";

    public async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var jobs = BenchmarkArguments.Int(args, "--jobs", quick ? 2 : 10);
        var itemsPerJob = BenchmarkArguments.Int(args, "--items", quick ? 200 : 1_000);
        var window = TimeSpan.FromSeconds(BenchmarkArguments.Int(args, "--window", quick ? 6 : 30));
        var parallelism = BenchmarkArguments.Int(args, "--parallelism", 50);
        var warm = args.Contains("--warm");
        using var jitNames = args.Contains("--jit-names") ? new JitNames() : null;
        _jitNames = jitNames;
        var settings = BenchmarkArguments.Settings(args).ToList();

        PollingScenario[] scenarios =
        [
            new($"tuned: every 1 s, all items per cycle, {parallelism} in parallel", TimeSpan.FromSeconds(1), itemsPerJob, parallelism, "0/1 * * * * ?", TimeSpan.FromSeconds(quick ? 20 : 60)),
            new("baseline (Lambda poller): every 30 s, 50 items per cycle, 20 in parallel", TimeSpan.FromSeconds(30), 50, 20, "0/30 * * * * ?", TimeSpan.FromSeconds(quick ? 5 : 65)),
        ];
        // The baseline's window must hold at least one 30 s cycle of every job to measure anything.
        var windows = new[] { window, quick ? TimeSpan.FromSeconds(6) : TimeSpan.FromSeconds(60) };

        Console.WriteLine($"# llm-polling: {jobs} job(s) x {itemsPerJob:N0} background items = {jobs * itemsPerJob:N0} in flight; stub GET latency 50 ms{(warm ? "; tuned: completion path warmed by finished jobs first (--warm)" : "")}");
        Console.WriteLine(BenchmarkMachine.Describe());
        if (settings.Count > 0)
            Console.WriteLine($"worker settings: {string.Join(", ", settings.Select(s => $"{s.Key}={s.Value}"))}");
        Console.WriteLine();

        var results = new List<(PollingScenario Scenario, ScenarioResult Result)>();
        for (var i = 0; i < scenarios.Length; i++)
        {
            // Only the tuned scenario finishes jobs inside its limit, so only its completion path is worth warming.
            var result = await RunScenarioAsync(scenarios[i], jobs, itemsPerJob, windows[i], warmCompletion: i == 0 && warm, settings);
            results.Add((scenarios[i], result));
            Console.Error.WriteLine($"[llm-polling] {scenarios[i].Title}: done");
        }

        Console.WriteLine("| scenario | window (s) | status checks/s | worker CPU s / wall s | stub CPU s / wall s | lag to job completed (s): min / median / max | jobs completed within limit | items exact | JIT settled after (s) | JIT s / wall s in the window |");
        Console.WriteLine("|---|---:|---:|---:|---:|---|---:|---|---:|---:|");
        foreach (var (scenario, r) in results)
        {
            var lag = r.Lags.Count == 0 ? "none finished" : $"{r.Lags.Min():F2} / {Median(r.Lags):F2} / {r.Lags.Max():F2}";
            Console.WriteLine($"| {scenario.Title} | {r.Window.TotalSeconds:F0} | {r.ChecksPerSecond:N0} | {r.WorkerCpuShare:F2} | {r.StubCpuShare:F2} | {lag} | {r.Lags.Count}/{jobs} (limit {scenario.CompletionLimit.TotalSeconds:F0} s) | {(r.Exact ? "yes" : "NO")} | {r.JitSettledAfter.TotalSeconds:F0} | {r.JitShare:F3} |");
        }

        var (tuned, baseline) = (results[0].Result, results[1].Result);
        Console.WriteLine();
        Console.WriteLine(baseline.ChecksPerSecond > 0
            ? $"checks/s ratio tuned / baseline: {tuned.ChecksPerSecond / baseline.ChecksPerSecond:F1}"
            : "checks/s ratio tuned / baseline: n/a (the baseline's 30 s cycle did not fall inside the window)");
        var baselineDesignLag = Math.Ceiling((double)itemsPerJob / scenarios[1].MaxItemsPerJobPerCycle) * scenarios[1].Interval.TotalSeconds;
        Console.WriteLine($"baseline design: one job needs {Math.Ceiling((double)itemsPerJob / scenarios[1].MaxItemsPerJobPerCycle):F0} cycles of {scenarios[1].Interval.TotalSeconds:F0} s to see {itemsPerJob:N0} items finish: lag about {baselineDesignLag:F0} s");
        if (tuned.Lags.Count > 0)
            Console.WriteLine($"lag ratio (baseline design / tuned max): {baselineDesignLag / tuned.Lags.Max():F0}");

        // The baseline is the provider alone at the tuned run's own rate (open loop, up to as many in flight as the
        // tuned run allows): CPU per check falls as the rate rises, so the two are only comparable at one rate.
        var probeInFlight = jobs * parallelism;
        var workerCpuPerCheck = tuned.WorkerCpuShare * 1_000_000 / Math.Max(tuned.ChecksPerSecond, 0.001);
        var probe = await ProbeProviderCostAsync(Math.Max(tuned.ChecksPerSecond, 10), TimeSpan.FromSeconds(quick ? 3 : 10), probeInFlight);
        Console.WriteLine($"provider alone (OpenAiLlmJobProvider.GetItemAsync against the same stub at the tuned run's rate, up to {probeInFlight} in flight, no bus, no database): {probe.ChecksPerSecond:N0} checks/s, " +
                          $"{probe.CpuShare:F2} CPU s / wall s, {probe.CpuPerCheck.TotalMicroseconds:F0} us CPU per check; " +
                          $"the tuned run spent {workerCpuPerCheck:F0} us of worker CPU per check, " +
                          $"{workerCpuPerCheck / Math.Max(probe.CpuPerCheck.TotalMicroseconds, 0.001):F2} times the provider's (target at most 1.25)");
        Console.WriteLine($"load average after: {BenchmarkMachine.LoadAverage()}");
        return results.All(r => r.Result.Exact) ? 0 : 1;
    }

    private static async Task<ScenarioResult> RunScenarioAsync(PollingScenario scenario, int jobs, int itemsPerJob, TimeSpan window, bool warmCompletion,
        IReadOnlyList<KeyValuePair<string, string?>> settings)
    {
        await using var database = await BenchmarkServers.CreateDatabaseAsync();
        await using var broker = await BenchmarkServers.CreateVirtualHostAsync();
        using var stub = await StubProcess.StartAsync();
        var cycles = new PollCycleRecorder();
        using var commands = new EfCommandRecorder();
        using var host = BuildWorker(scenario, stub.BaseUrl, database.ConnectionString, broker.Address, cycles, settings);
        await host.StartAsync();
        try
        {
            var bus = host.Services.GetRequiredService<IBus>();
            if (warmCompletion)
                await WarmCompletionAsync(host, bus, scenario, jobs, Math.Max(50, itemsPerJob / 4));
            var jobIds = await SubmitJobsAsync(bus, jobs, itemsPerJob, "i", "llm-polling");

            var total = jobs * itemsPerJob;
            await WaitAsync(host, async db => await db.Set<LlmJobItem>().CountAsync(i => i.Status == LlmJobItemStatus.Processing && i.ProviderTaskId != null) == total, TimeSpan.FromMinutes(5), "every item submitted");
            await WaitAsync(host, async db => await db.Set<LlmJob>().CountAsync(j => j.Status == LlmJobStatus.Running) == jobs, TimeSpan.FromMinutes(1), "every job running");
            // Let the poll loops reach their steady rhythm before measuring.
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, scenario.Interval.TotalSeconds)));
            // And let tiered compilation finish promoting the poll path: a profile of the first runs found a third of
            // the window's CPU on the tiered-compilation thread, a start-up cost the warmed-up provider probe never pays.
            var settled = await JitSettledAsync(TimeSpan.FromSeconds(90));
            Console.Error.WriteLine($"[llm-polling] {scenario.Title}: JIT settled after {settled.TotalSeconds:F0} s");
            var jitBefore = System.Runtime.JitInfo.GetCompilationTime();

            // Said on stderr so that a profiler can be attached to this process for exactly the measured window.
            Console.Error.WriteLine($"[llm-polling] {scenario.Title}: measuring for {window.TotalSeconds:F0} s (pid {Environment.ProcessId})");
            var before = await stub.StatsAsync();
            cycles.Recording = true;
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var stubCpuBefore = stub.CpuTime;
            var clock = Stopwatch.StartNew();
            await Task.Delay(window);
            var wall = clock.Elapsed;
            var after = await stub.StatsAsync();
            var workerCpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            var jitInWindow = System.Runtime.JitInfo.GetCompilationTime() - jitBefore;
            var stubCpu = stub.CpuTime - stubCpuBefore;

            var self = Environment.ProcessId;
            var stubId = stub.ProcessId;
            var afterFlip = new CpuShares(
            [
                ("worker", (pid, _) => pid == self),
                ("stub", (pid, _) => pid == stubId),
                ("PostgreSQL", (_, name) => name.StartsWith("postgres", StringComparison.Ordinal)),
                ("RabbitMQ", (_, name) => name is "beam.smp" or "erl_child_setup"),
            ]);
            commands.Recording = true;
            // Counted from here, not from the last warm-up round: the settling and the window compile too.
            _jitNames?.Start();
            var jitAtFlip = System.Runtime.JitInfo.GetCompilationTime();
            var methodsAtFlip = System.Runtime.JitInfo.GetCompiledMethodCount();
            var completeAt = DateTimeOffset.FromUnixTimeMilliseconds(await stub.CompleteAsync());
            var limit = Stopwatch.StartNew();
            while (limit.Elapsed < scenario.CompletionLimit)
            {
                var finished = await Query(host, db => db.Set<LlmJob>().CountAsync(j => jobIds.Contains(j.Id) && j.FinishedAt != null));
                if (finished == jobs)
                    break;
                await Task.Delay(TimeSpan.FromMilliseconds(250));
            }

            commands.Recording = false;
            cycles.Recording = false;
            if (_jitNames is { } compiledAfterFlip)
                Console.Error.WriteLine($"  methods compiled from the flip to the last finish, by namespace:{Environment.NewLine}{compiledAfterFlip.Top(15)}");
            var cpuAfterFlip = afterFlip.Since() + string.Create(CultureInfo.InvariantCulture,
                $"; this process compiled {(System.Runtime.JitInfo.GetCompilationTime() - jitAtFlip).TotalSeconds:F2} s ({System.Runtime.JitInfo.GetCompiledMethodCount() - methodsAtFlip} methods)");

            // One snapshot: jobs still finishing commit between separate reads, which would look like a miscount.
            var (rows, flags, succeeded) = await Query(host, async db =>
            {
                await using var snapshot = await db.Database.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead);
                return (await db.Set<LlmJob>().AsNoTracking().ToListAsync(),
                    await db.Set<EntityFlag>().CountAsync(),
                    await db.Set<LlmJobItem>().CountAsync(i => i.Status == LlmJobItemStatus.Succeeded));
            });
            // The warm-up jobs (finished before the flip) count in the table-wide sums, not in the lag.
            var measured = rows.Where(j => jobIds.Contains(j.Id)).ToList();
            var lags = measured.Where(j => j.FinishedAt is not null).Select(j => (j.FinishedAt!.Value - completeAt).TotalSeconds).ToList();
            var exact = measured.Where(j => j.FinishedAt is not null).All(j => j.Status == LlmJobStatus.Completed && j.SucceededItems == itemsPerJob && j.ProcessedItems == itemsPerJob)
                        && rows.All(j => j.ProcessedItems == j.SucceededItems + j.FailedItems + j.CancelledItems && j.FailedItems == 0);
            exact &= flags == succeeded && succeeded == rows.Sum(j => j.SucceededItems);
            if (!exact)
            {
                Console.WriteLine($"[llm-polling] {scenario.Title}: not exact: flags {flags}, succeeded items {succeeded}, job counters {rows.Sum(j => j.SucceededItems)} succeeded / " +
                    $"{rows.Sum(j => j.FailedItems)} failed / {rows.Sum(j => j.CancelledItems)} cancelled / {rows.Sum(j => j.ProcessedItems)} processed; errors: " +
                    string.Join(" | ", rows.Select(j => j.LastError).OfType<string>().Distinct().Take(3)));
            }
            // Stopping while the outbox still publishes the completion events would cancel those publishes mid-flight.
            await WaitAsync(host, async db => !await db.Set<Sagas.Messaging.Outbox.OutboxMessage>().AnyAsync(), TimeSpan.FromMinutes(2), "the outbox drained");
            if (lags.Count > 0)
            {
                var drained = DateTimeOffset.UtcNow - completeAt;
                var completed = await Query(host, db => db.Set<LlmJobItem>().AsNoTracking().Where(i => i.CompletedAt != null)
                    .GroupBy(i => new { i.JobId, i.CompletedAt }).Select(g => new { g.Key.JobId, g.Key.CompletedAt, Count = g.Count() }).ToListAsync());
                var sagas = await Query(host, db => db.Set<Sagas.LlmJobs.StateMachines.LlmJobState>().AsNoTracking().ToDictionaryAsync(s => s.CorrelationId, s => s.FinishedAt));
                Console.WriteLine($"lag breakdown, {scenario.Title} (seconds from the flip; per job, each cycle that ended after it)");
                Console.WriteLine("  cycle: queued s | polled [start → end] items polled | ledger [start → end] items applied; F = the job finished (finished_at is the ledger's start)");
                foreach (var job in measured.Where(j => j.FinishedAt is not null).OrderBy(j => j.FinishedAt))
                {
                    double At(DateTimeOffset t) => (t - completeAt).TotalSeconds;
                    var line = new System.Text.StringBuilder(string.Create(CultureInfo.InvariantCulture, $"  job …{job.Id.ToString()[^4..]} lag {At(job.FinishedAt!.Value):F2}, saga finished {(sagas.GetValueOrDefault(job.Id) is { } sagaAt ? At(sagaAt).ToString("F2", CultureInfo.InvariantCulture) : "-")}, applied in {completed.Count(c => c.JobId == job.Id)} cycle(s):"));
                    foreach (var c in cycles.Cycles.Where(c => c.JobId == job.Id && c.LoggedAt > completeAt).OrderBy(c => c.LoggedAt))
                        line.Append(CultureInfo.InvariantCulture, $" | q {(c.QueuedMs ?? 0) / 1000.0:F2} poll [{At(c.PollStart):F2} → {At(c.LedgerStart):F2}] {c.ItemsPolled} ledger [{At(c.LedgerStart):F2} → {At(c.LoggedAt):F2}] {c.ItemsUpdated}{(c.Resolved ? " F" : "")}");
                    Console.WriteLine(line);
                }

                var cyclesAfter = cycles.Cycles.Where(c => c.LoggedAt > completeAt).ToList();
                var applying = cyclesAfter.Where(c => c.ItemsUpdated > 0).ToList();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  cycles after the flip: {cyclesAfter.Count}; those applying results: {applying.Count}, ledger {applying.Select(c => c.LedgerMs).DefaultIfEmpty().Average():F0} ms on average ({applying.Select(c => c.LedgerMs).DefaultIfEmpty().Max()} ms max) for {applying.Select(c => c.ItemsUpdated).DefaultIfEmpty().Average():F0} items; " +
                    $"poll phase {cyclesAfter.Select(c => c.PollMs).DefaultIfEmpty().Average():F0} ms on average for {cyclesAfter.Select(c => c.ItemsPolled).DefaultIfEmpty().Average():F0} items; queued {cyclesAfter.Select(c => c.QueuedMs ?? 0).DefaultIfEmpty().Average():F0} ms on average"));
                var cyclesBefore = cycles.Cycles.Where(c => c.LoggedAt <= completeAt && c.LoggedAt > completeAt.AddSeconds(-10)).ToList();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  cycles in the 10 s before the flip: {cyclesBefore.Count}, poll phase {cyclesBefore.Select(c => c.PollMs).DefaultIfEmpty().Average():F0} ms, ledger {cyclesBefore.Select(c => c.LedgerMs).DefaultIfEmpty().Average():F0} ms, queued {cyclesBefore.Select(c => c.QueuedMs ?? 0).DefaultIfEmpty().Average():F0} ms on average"));
                Console.WriteLine($"  CPU from the flip to the last job finished: {cpuAfterFlip}");
                Console.WriteLine($"  outbox drained {drained.TotalSeconds:F1} s after the flip (checked after the counts)");
                Console.WriteLine("  EF Core commands from the flip to the last job finished (time until each returned, summed over concurrent commands):");
                Console.Write(commands.Summary(12));
                Console.WriteLine();
            }

            return new ScenarioResult(wall, (after.Gets - before.Gets) / wall.TotalSeconds, workerCpu / wall, stubCpu / wall, lags, exact, settled, jitInWindow / wall);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static IHost BuildWorker(PollingScenario scenario, string stubUrl, string connectionString, Uri broker, PollCycleRecorder cycles,
        IReadOnlyList<KeyValuePair<string, string?>> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Messaging:Transport"] = "RabbitMq",
            ["Messaging:RabbitMq:Uri"] = broker.ToString(),
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = connectionString,
            ["Worker:Roles"] = "all",
            ["LlmJobs:Providers:Default"] = "openai",
            ["LlmJobs:Providers:OpenAi:Enabled"] = "true",
            ["LlmJobs:Providers:OpenAi:BaseUrl"] = stubUrl,
            ["LlmJobs:Providers:OpenAi:ApiKey"] = "sk-bench-loopback",
            ["LlmJobs:Polling:Interval"] = scenario.Interval.ToString(),
            ["LlmJobs:Polling:MinInterval"] = scenario.Interval.ToString(),
            ["LlmJobs:Polling:MaxInterval"] = scenario.Interval.ToString(),
            ["LlmJobs:Polling:MaxItemsPerJobPerCycle"] = scenario.MaxItemsPerJobPerCycle.ToString(CultureInfo.InvariantCulture),
            ["LlmJobs:Polling:Parallelism"] = scenario.Parallelism.ToString(CultureInfo.InvariantCulture),
            ["Scheduling:Schedules:llm-job-poll:Cron"] = scenario.Cron,
            ["Logging:LogLevel:Default"] = "Warning",
            // The first migration's probe of a missing history table is logged as a failed command; it is expected.
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore.Database.Command"] = "None",
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddSagas("llm-polling-bench", SagasWorkflows.Catalog);
        // After AddSagas, which replaces the logging providers. The poller's per-cycle lines go to the recorder only
        // (the console stays at Warning).
        builder.Logging.AddProvider(cycles);
        builder.Logging.AddFilter<PollCycleRecorder>(PollCycleRecorder.Category, LogLevel.Information);
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        return builder.Build();
    }

    /// <summary>Background flagging jobs whose item ids start with <paramref name="prefix"/> (the stub answers "w…" completed at once).</summary>
    private static async Task<List<Guid>> SubmitJobsAsync(IBus bus, int jobs, int items, string prefix, string submittedBy)
    {
        var ids = Enumerable.Range(0, jobs).Select(_ => NewId.NextGuid()).ToList();
        foreach (var id in ids)
        {
            await bus.Publish(new SubmitLlmJob(
                id, "flagging", null, null, LlmJobPriority.Normal, LlmJobMode.Background,
                [.. Enumerable.Range(1, items).Select(i => new LlmJobItemInput($"{prefix}{i}", "post", $"{id:N}-{prefix}{i}", $"text {i}"))],
                DateTimeOffset.UtcNow.AddHours(2), submittedBy));
        }

        return ids;
    }

    /// <summary>
    /// Runs jobs the stub answers "completed" at once (item ids starting with "w") until a round of them compiles less
    /// than 0.1 s: the path from a completed answer to a finished job (results applied, flags, usage, outbox, saga)
    /// otherwise runs for the first time at the flip, in tier-0 code and beside the JIT (a run without this warm-up
    /// compiled about 3 s in the 4 s after the flip). A long-lived worker finishes items all day and has compiled it.
    /// </summary>
    private static async Task WarmCompletionAsync(IHost host, IBus bus, PollingScenario scenario, int jobs, int items)
    {
        _jitNames?.Start();
        for (var round = 1; round <= 4; round++)
        {
            var compiled = System.Runtime.JitInfo.GetCompilationTime();
            var clock = Stopwatch.StartNew();
            var ids = await SubmitJobsAsync(bus, jobs, items, "w", "llm-polling-warm-up");

            await WaitAsync(host, async db => await db.Set<LlmJob>().CountAsync(j => ids.Contains(j.Id) && j.FinishedAt != null) == jobs, TimeSpan.FromMinutes(3), "the warm-up jobs finished");
            await WaitAsync(host, async db => !await db.Set<Sagas.Messaging.Outbox.OutboxMessage>().AnyAsync(), TimeSpan.FromMinutes(2), "the warm-up's outbox drained");
            var seconds = (System.Runtime.JitInfo.GetCompilationTime() - compiled).TotalSeconds;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[llm-polling] {scenario.Title}: completion warm-up round {round} ({jobs} x {items} items): {clock.Elapsed.TotalSeconds:F1} s, compiled {seconds:F2} s"));
            if (_jitNames is { } names)
                Console.Error.WriteLine($"  methods compiled in the round, by namespace:{Environment.NewLine}{names.Top(15)}");
            if (seconds < 0.1)
                break;
        }
    }

    /// <summary>
    /// The share of a status check's CPU that is the provider's own (OpenAI SDK, HTTP client, JSON reading, its retry
    /// pipeline): the provider as the worker configures it, making the same calls with nothing else in the process, so
    /// the rest of the tuned run's CPU per check is bus, database, ledger, breaker and telemetry.
    /// </summary>
    private static async Task<(double ChecksPerSecond, double CpuShare, TimeSpan CpuPerCheck)> ProbeProviderCostAsync(double rate, TimeSpan duration, int inFlight)
    {
        using var stub = await StubProcess.StartAsync();
        var provider = new Sagas.LlmJobs.Providers.OpenAi.OpenAiLlmJobProvider(
            new Sagas.LlmJobs.Providers.OpenAiProviderOptions { Enabled = true, BaseUrl = stub.BaseUrl, ApiKey = "sk-bench-loopback" },
            TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Sagas.LlmJobs.Providers.OpenAi.OpenAiLlmJobProvider>.Instance);
        var tasks = new List<string>();
        for (var i = 0; i < 100; i++)
            tasks.Add((await provider.SubmitItemAsync(new("p" + i, null, "Decide.", "text"), CancellationToken.None)).ProviderTaskId);

        // Warm-up at the same rate: JIT (until it settles, as in the tuned run) and connection pool.
        await PacedChecksAsync(provider, tasks, rate, TimeSpan.FromSeconds(5), inFlight);
        var settled = JitSettledAsync(TimeSpan.FromSeconds(60));
        while (!settled.IsCompleted)
            await PacedChecksAsync(provider, tasks, rate, TimeSpan.FromSeconds(3), inFlight);

        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var checks = await PacedChecksAsync(provider, tasks, rate, duration, inFlight);
        var wall = clock.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        return (checks / wall.TotalSeconds, cpu / wall, cpu / checks);
    }

    /// <summary>Status checks started on a fixed schedule at <paramref name="rate"/> per second, at most <paramref name="inFlight"/> at once.</summary>
    private static async Task<int> PacedChecksAsync(Sagas.LlmJobs.Providers.OpenAi.OpenAiLlmJobProvider provider, List<string> taskIds, double rate, TimeSpan duration, int inFlight)
    {
        var total = (int)(rate * duration.TotalSeconds);
        using var gate = new SemaphoreSlim(inFlight);
        var running = new List<Task>(total);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < total; i++)
        {
            var wait = TimeSpan.FromSeconds(i / rate) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait);
            await gate.WaitAsync();
            var id = taskIds[i % taskIds.Count];
            running.Add(Task.Run(async () =>
            {
                try
                {
                    await provider.GetItemAsync(id, CancellationToken.None);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(running);
        return total;
    }

    /// <summary>
    /// Waits until the JIT has compiled for less than 20 ms in each of two consecutive seconds (or the limit passes):
    /// the point from which the process runs the code a long-lived worker runs.
    /// </summary>
    private static async Task<TimeSpan> JitSettledAsync(TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        var quietSeconds = 0;
        var last = System.Runtime.JitInfo.GetCompilationTime();
        while (quietSeconds < 2 && clock.Elapsed < limit)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            var now = System.Runtime.JitInfo.GetCompilationTime();
            quietSeconds = now - last < TimeSpan.FromMilliseconds(20) ? quietSeconds + 1 : 0;
            last = now;
        }

        return clock.Elapsed;
    }

    private static async Task<T> Query<T>(IHost host, Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = host.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }

    private static async Task WaitAsync(IHost host, Func<SagasDbContext, Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await Query(host, condition))
        {
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"llm-polling: not reached within {timeout}: {what}");
            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
    }


    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private sealed record ScenarioResult(TimeSpan Window, double ChecksPerSecond, double WorkerCpuShare, double StubCpuShare, List<double> Lags, bool Exact, TimeSpan JitSettledAfter, double JitShare);

    private sealed record StubStats(long Gets, long Posts, long CompletedAnswers);

    private sealed record CompleteAnswer(long CompleteAtUnixMs);

    /// <summary>The stub as a child process of this benchmark (same executable, hidden subcommand).</summary>
    private sealed class StubProcess : IDisposable
    {
        private readonly Process _process;
        private readonly HttpClient _http;

        private StubProcess(Process process, string baseUrl)
        {
            _process = process;
            BaseUrl = baseUrl;
            _http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        }

        public string BaseUrl { get; }

        public int ProcessId => _process.Id;

        public TimeSpan CpuTime
        {
            get
            {
                _process.Refresh();
                return _process.TotalProcessorTime;
            }
        }

        public static async Task<StubProcess> StartAsync()
        {
            var self = Environment.ProcessPath ?? throw new BenchmarkSetupException("cannot tell this process's executable to start the stub");
            var start = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(self) == "dotnet")
                start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
            start.ArgumentList.Add(OpenAiPollingStub.Subcommand);
            start.ArgumentList.Add("50");
            var process = Process.Start(start) ?? throw new BenchmarkSetupException("could not start the OpenAI stub process");
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (line is null || !line.StartsWith("listening ", StringComparison.Ordinal))
                throw new BenchmarkSetupException($"the OpenAI stub did not start: {line}");
            return new StubProcess(process, line["listening ".Length..]);
        }

        public async Task<StubStats> StatsAsync() => (await _http.GetFromJsonAsync<StubStats>("/control/stats"))!;

        public async Task<long> CompleteAsync()
        {
            using var answer = await _http.PostAsync("/control/complete", null);
            answer.EnsureSuccessStatusCode();
            return (await answer.Content.ReadFromJsonAsync<CompleteAnswer>())!.CompleteAtUnixMs;
        }

        public void Dispose()
        {
            _http.Dispose();
            _process.StandardInput.Close();
            if (!_process.WaitForExit(5_000))
                _process.Kill();
            _process.Dispose();
        }
    }
}
