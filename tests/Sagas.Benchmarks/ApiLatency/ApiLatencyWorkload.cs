using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Sagas.Benchmarks.ApiLatency;

/// <summary>
/// API latency under a steady, open-loop request rate: the API and one worker run as separate processes on RabbitMQ +
/// PostgreSQL (the deployed shape), the load comes from this process. Latency is measured from each request's
/// scheduled start, so a stalled server is charged for the queue it builds (no coordinated omission). The baseline is
/// <c>/health/live</c> on the same server at the same rate: the pipeline (Kestrel, middleware, auth) with no work behind it.
/// </summary>
internal sealed class ApiLatencyWorkload : IWorkload
{
    private const int ItemsPerSubmittedJob = 10;

    public string Name => "api-latency";

    public string Description => "API p50/p99 at a steady request rate (reads, job submission) beside /health/live on the same server. [--quick] [--rate N/s] [--seconds N] [--api-cpus LIST --worker-cpus LIST (taskset lists)] [--warm-up reads (the warm-up before 2026-12-05: reads only, no wait for the worker)]";

    public async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var rate = BenchmarkArguments.Int(args, "--rate", quick ? 50 : 200);
        var duration = TimeSpan.FromSeconds(BenchmarkArguments.Int(args, "--seconds", quick ? 5 : 30));
        var apiCpus = BenchmarkArguments.Text(args, "--api-cpus");
        var workerCpus = BenchmarkArguments.Text(args, "--worker-cpus");
        var readsOnlyWarmUp = BenchmarkArguments.Text(args, "--warm-up") switch
        {
            null or "mixed" => false,
            "reads" => true,
            var other => throw new BenchmarkSetupException($"--warm-up is 'mixed' (default) or 'reads', not '{other}'"),
        };

        await using var database = await BenchmarkServers.CreateDatabaseAsync();
        await using var broker = await BenchmarkServers.CreateVirtualHostAsync();
        var shared = new Dictionary<string, string>
        {
            ["Messaging:Transport"] = "RabbitMq",
            ["Messaging:RabbitMq:Uri"] = broker.Address.ToString(),
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = database.ConnectionString,
            ["LlmJobs:Providers:Simulated:MinLatency"] = "00:00:00.100",
            ["LlmJobs:Providers:Simulated:MaxLatency"] = "00:00:00.500",
            ["Api:MutationsPerMinute"] = "1000000",
        };

        Console.WriteLine($"# api-latency: {rate} requests/s per scenario for {duration.TotalSeconds:F0} s, open loop; API and worker as separate processes on RabbitMQ + PostgreSQL");
        Console.WriteLine(BenchmarkMachine.Describe());
        if (apiCpus is not null || workerCpus is not null)
            Console.WriteLine($"pinned: API on CPUs {apiCpus ?? "any"}, worker on CPUs {workerCpus ?? "any"} (PostgreSQL, RabbitMQ and this load generator unpinned)");
        Console.WriteLine();

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };

        // The API holds no worker role, like a deployed API; the worker process runs every consumer and the scheduler.
        await using var api = HostProcess.Start("Sagas.Api", new Dictionary<string, string>(shared) { ["Worker:Roles"] = "none" }, apiCpus);
        await api.WaitUntilReadyAsync(client, TimeSpan.FromSeconds(90));
        await using var worker = HostProcess.Start("Sagas.Worker", new Dictionary<string, string>(shared) { ["Worker:Roles"] = "all" }, workerCpus);
        await worker.WaitUntilReadyAsync(client, TimeSpan.FromSeconds(90));

        var jobIds = await SeedJobsAsync(client, api.BaseAddress, quick ? 10 : 50);
        var random = new Random(7);

        Scenario[] scenarios =
        [
            new("GET /health/live (baseline)", _ => new HttpRequestMessage(HttpMethod.Get, new Uri(api.BaseAddress, "health/live"))),
            new("GET /api/llm-jobs (page of 20)", _ => new HttpRequestMessage(HttpMethod.Get, new Uri(api.BaseAddress, "api/llm-jobs?pageSize=20"))),
            new("GET /api/llm-jobs/{id} (job + items page)", _ => new HttpRequestMessage(HttpMethod.Get, new Uri(api.BaseAddress, $"api/llm-jobs/{jobIds[random.Next(jobIds.Count)]}"))),
            new($"mixed: 80 % reads, 20 % POST /api/llm-jobs ({ItemsPerSubmittedJob} items) while the worker runs them", i => i % 5 == 0
                ? Submit(api.BaseAddress, i)
                : new HttpRequestMessage(HttpMethod.Get, new Uri(api.BaseAddress, $"api/llm-jobs/{jobIds[random.Next(jobIds.Count)]}"))),
        ];

        // Warm-up: JIT, connection pools and query plans, so the first scenario is not charged for them. The mixed load
        // warms the submission path in the API and the job path in the worker too (before, the worker compiled it during
        // the measured mixed scenario); its jobs must be finished before anything is measured, or the worker would
        // still be busy with them under the baseline.
        // "reads" keeps the protocol of the runs before that change, so an old figure can be repeated on a new build.
        if (readsOnlyWarmUp)
        {
            Console.WriteLine("warm-up: reads only, the worker cold for the mixed scenario (the protocol before 2026-12-05)");
            Console.WriteLine();
        }
        else
        {
            var warmUp = await RunScenarioAsync(client, scenarios[3] with { Title = "warm-up" }, rate, TimeSpan.FromSeconds(quick ? 3 : 10));
            if (warmUp.Failures > 0)
                throw new BenchmarkSetupException($"{warmUp.Failures} warm-up request(s) failed or answered non-2xx");
            await WaitForWorkerIdleAsync(client, api.BaseAddress, jobIds.Count + (warmUp.Requests + 4) / 5, TimeSpan.FromMinutes(quick ? 2 : 5));
        }

        await RunScenarioAsync(client, scenarios[2] with { Title = "warm-up" }, rate, TimeSpan.FromSeconds(quick ? 2 : 5));
        await RunScenarioAsync(client, scenarios[0] with { Title = "warm-up" }, rate, TimeSpan.FromSeconds(quick ? 1 : 3));

        var results = new List<(Scenario Scenario, ScenarioResult Result)>();
        var workerCores = new List<double>();
        var apiCpuBefore = api.CpuTime();
        var wall = Stopwatch.StartNew();
        foreach (var scenario in scenarios)
        {
            var (result, cores) = await MeasureWorkerAsync(worker, () => RunScenarioAsync(client, scenario, rate, duration));
            results.Add((scenario, result));
            workerCores.Add(cores);
            Console.Error.WriteLine($"[api-latency] {scenario.Title}: done");
        }

        // The same no-work endpoint, sampled while the mixed load and the worker run: what any request meets on this
        // machine then, so the mixed rows' ratios can be split into the API's own cost and the machine's contention.
        var probeRate = Math.Max(1, rate / 10);
        var probe = new Scenario($"GET /health/live at {probeRate}/s during the mixed load (not in the ratios)", _ => new HttpRequestMessage(HttpMethod.Get, new Uri(api.BaseAddress, "health/live")));
        var mixedAgain = scenarios[^1] with { Title = $"{scenarios[^1].Title}, again, with the probe beside it" };
        var (probed, probedWorkerCores) = await MeasureWorkerAsync(worker, () => Task.WhenAll(RunScenarioAsync(client, mixedAgain, rate, duration), RunScenarioAsync(client, probe, probeRate, duration)));
        Console.Error.WriteLine("[api-latency] mixed load with the probe: done");

        var apiCpuShare = (api.CpuTime() - apiCpuBefore).TotalSeconds / wall.Elapsed.TotalSeconds;
        var baseline = results[0].Result;
        Console.WriteLine("| scenario | requests | achieved rate (/s) | p50 (ms) | p99 (ms) | max (ms) | non-2xx / failed | p50 ratio to baseline | p99 ratio to baseline | worker CPU (cores) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var rows = results.Select((row, i) => (row.Scenario, row.Result, workerCores[i]))
            .Append((mixedAgain, probed[0], probedWorkerCores))
            .Append((probe, probed[1], probedWorkerCores));
        foreach (var (scenario, r, cores) in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {scenario.Title} | {r.Requests:N0} | {r.AchievedRate:F0} | {r.P50:F1} | {r.P99:F1} | {r.Max:F1} | {r.Failures} | {r.P50 / baseline.P50:F1} | {r.P99 / baseline.P99:F1} | {cores:F2} |"));
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"API process: {apiCpuShare:F2} core on average over the scenarios, peak RSS {api.PeakResidentMegabytes():F0} MiB; worker peak RSS {worker.PeakResidentMegabytes():F0} MiB; load average after: {BenchmarkMachine.LoadAverage()}"));

        var failures = results.Sum(r => r.Result.Failures) + probed.Sum(r => r.Failures);
        if (failures > 0)
        {
            Console.Error.WriteLine($"[api-latency] {failures} request(s) failed or answered non-2xx");
            return 1;
        }

        return 0;
    }

    /// <summary>Runs <paramref name="run"/> and the worker's CPU time over it, in cores (CPU seconds per second).</summary>
    private static async Task<(T Result, double WorkerCores)> MeasureWorkerAsync<T>(HostProcess worker, Func<Task<T>> run)
    {
        var before = worker.CpuTime();
        var clock = Stopwatch.StartNew();
        var result = await run();
        return (result, (worker.CpuTime() - before).TotalSeconds / clock.Elapsed.TotalSeconds);
    }

    private static HttpRequestMessage Submit(Uri api, int sequence) => new(HttpMethod.Post, new Uri(api, "api/llm-jobs"))
    {
        Content = JsonContent.Create(new
        {
            kind = "flagging",
            priority = "normal",
            mode = "background",
            items = Enumerable.Range(0, ItemsPerSubmittedJob).Select(i => new
            {
                entityType = "listing",
                entityId = string.Create(CultureInfo.InvariantCulture, $"bench-{sequence}-{i}"),
                input = "Flag this listing if it offers anything illegal: a used bicycle, barely ridden.",
            }),
        }),
    };

    private static async Task<List<Guid>> SeedJobsAsync(HttpClient client, Uri api, int count)
    {
        var ids = new List<Guid>();
        for (var i = 0; i < count; i++)
        {
            using var response = await client.SendAsync(Submit(api, -1 - i));
            if (response.StatusCode != HttpStatusCode.Accepted)
                throw new BenchmarkSetupException($"seeding a job answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            ids.Add(body.RootElement.GetProperty("id").GetGuid());
        }

        // The reads must find the jobs, which the worker's saga writes after consuming the command.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        foreach (var id in ids)
        {
            while (true)
            {
                using var response = await client.GetAsync(new Uri(api, $"api/llm-jobs/{id}"));
                if (response.IsSuccessStatusCode)
                    break;
                if (DateTime.UtcNow > deadline)
                    throw new BenchmarkSetupException($"job {id} was not readable within 60 s (last answer {(int)response.StatusCode})");
                await Task.Delay(100);
            }
        }

        return ids;
    }

    /// <summary>Waits until the API lists <paramref name="expected"/> jobs and none of them is queued or running.</summary>
    private static async Task WaitForWorkerIdleAsync(HttpClient client, Uri api, int expected, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var all = await TotalAsync(client, new Uri(api, "api/llm-jobs?pageSize=1"));
            var queued = await TotalAsync(client, new Uri(api, "api/llm-jobs?pageSize=1&status=queued"));
            var running = await TotalAsync(client, new Uri(api, "api/llm-jobs?pageSize=1&status=running"));
            if (all >= expected && queued == 0 && running == 0)
                return;
            if (clock.Elapsed > limit)
                throw new BenchmarkSetupException($"the worker did not finish the warm-up's jobs within {limit.TotalSeconds:F0} s ({all} of {expected} listed, {queued} queued, {running} running)");
            await Task.Delay(500);
        }
    }

    private static async Task<int> TotalAsync(HttpClient client, Uri uri)
    {
        using var response = await client.GetAsync(uri);
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("total").GetInt32();
    }

    private static async Task<ScenarioResult> RunScenarioAsync(HttpClient client, Scenario scenario, int rate, TimeSpan duration)
    {
        var total = (int)(rate * duration.TotalSeconds);
        var latencies = new double[total];
        var failures = 0;
        var clock = Stopwatch.StartNew();
        var inFlight = new List<Task>(total);
        for (var i = 0; i < total; i++)
        {
            var scheduled = TimeSpan.FromSeconds((double)i / rate);
            var wait = scheduled - clock.Elapsed;
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait);
            var index = i;
            var request = scenario.Request(i);
            inFlight.Add(Task.Run(async () =>
            {
                try
                {
                    using var response = await client.SendAsync(request);
                    await response.Content.LoadIntoBufferAsync();
                    if (!response.IsSuccessStatusCode)
                        Interlocked.Increment(ref failures);
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref failures);
                }
                finally
                {
                    request.Dispose();
                }

                latencies[index] = (clock.Elapsed - scheduled).TotalMilliseconds;
            }));
        }

        await Task.WhenAll(inFlight);
        var elapsed = clock.Elapsed;
        Array.Sort(latencies);
        return new ScenarioResult(total, total / elapsed.TotalSeconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies[^1], failures);
    }

    private static double Percentile(double[] sorted, double quantile) =>
        sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];


    private sealed record Scenario(string Title, Func<int, HttpRequestMessage> Request);

    private sealed record ScenarioResult(int Requests, double AchievedRate, double P50, double P99, double Max, int Failures);
}
