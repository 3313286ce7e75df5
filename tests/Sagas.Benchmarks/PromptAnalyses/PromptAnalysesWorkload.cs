using System.Diagnostics;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Calls;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Benchmarks.PromptAnalyses;

/// <summary>
/// Prompts x four platforms through <see cref="IPlatformCaller"/> with the PostgreSQL budget, against stubs that
/// enforce the same per-minute limits as 429s: is the wall time close to what the tightest limit allows, with no 429
/// and no more analyses in flight than the cap?
/// </summary>
internal sealed class PromptAnalysesWorkload : IWorkload
{
    private static readonly Dictionary<string, int> Limits = new()
    {
        [PlatformNames.OpenAi] = 600,
        [PlatformNames.Gemini] = 60,
        [PlatformNames.Claude] = 120,
        [PlatformNames.Perplexity] = 120,
    };

    public string Name => "prompt-analyses";

    public string Description => "prompts x 4 platforms under cluster-wide limits 600/60/120/120 RPM: wall time vs the floor, 429s, analyses in flight. [--quick] [--prompts N] [--concurrency N] [--latency-ms N]";

    public async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var prompts = Option(args, "--prompts", quick ? 60 : 1_000);
        var concurrency = Option(args, "--concurrency", 5);
        var latency = TimeSpan.FromMilliseconds(Option(args, "--latency-ms", 200));

        await using var database = await BenchmarkServers.CreateDatabaseAsync();
        await MigrateAsync(database.ConnectionString);
        await using var stubs = await ProviderStubs.StartAsync(Limits, latency);
        await using var services = BuildServices(stubs.BaseAddress, database.ConnectionString);
        var caller = services.GetRequiredService<IPlatformCaller>();

        var floor = TimeSpan.FromMinutes((double)prompts / Limits.Values.Min());
        Console.WriteLine($"# prompt-analyses: {prompts:N0} prompts x {Limits.Count} platforms, limits {string.Join(" / ", Limits.Select(l => $"{l.Key} {l.Value}"))} RPM, " +
                          $"at most {concurrency} analyses in flight, stub latency {latency.TotalMilliseconds:F0} ms, budget in PostgreSQL");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");

        using var cap = new SemaphoreSlim(concurrency);
        var inFlight = 0;
        var maxInFlight = 0;
        var failures = 0;
        var attempts = 0;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, prompts).Select(async index =>
        {
            await cap.WaitAsync();
            try
            {
                var now = Interlocked.Increment(ref inFlight);
                InterlockedMax(ref maxInFlight, now);
                var outcomes = await Task.WhenAll(Limits.Keys.Select(platform =>
                    caller.CallAsync(platform, $"Which project management tool suits team {index}?", null, CancellationToken.None)));
                Interlocked.Add(ref failures, outcomes.Count(o => !o.Succeeded));
                Interlocked.Add(ref attempts, outcomes.Sum(o => o.Attempts));
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
                cap.Release();
            }

            if ((index + 1) % 50 == 0)
                Console.Error.WriteLine($"[prompt-analyses] {index + 1} started, {wall.Elapsed.TotalSeconds:F0} s");
        }));
        wall.Stop();

        var refused = Limits.Keys.Sum(p => stubs[p].Refused);
        var overFloor = wall.Elapsed / floor - 1;
        Console.WriteLine();
        Console.WriteLine("| platform | limit (RPM) | requests at stub | 429s at stub | busiest 60 s window |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var (platform, limit) in Limits)
            Console.WriteLine($"| {platform} | {limit} | {stubs[platform].Admitted.Count:N0} | {stubs[platform].Refused} | {stubs[platform].BusiestMinute} |");
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wall {wall.Elapsed.TotalSeconds:F1} s, floor {floor.TotalSeconds:F1} s ({prompts} prompts / {Limits.Values.Min()} RPM), {overFloor:P1} over the floor; " +
            $"{attempts:N0} attempts, {failures} failed calls, {refused} 429s, at most {maxInFlight} analyses in flight (cap {concurrency})"));

        var ok = overFloor <= 0.05 && refused == 0 && failures == 0 && maxInFlight <= concurrency;
        Console.WriteLine(ok ? "PASS: within 5 % of the floor, zero 429s, cap held" : "FAIL: see the figures above");
        return ok ? 0 : 1;
    }

    private static ServiceProvider BuildServices(Uri stub, string connectionString)
    {
        var settings = new Dictionary<string, string?> { ["PromptAnalyses:Platforms:Simulated:Enabled"] = "false" };
        foreach (var (platform, limit) in Limits)
        {
            var section = ProviderStubs.SectionOf(platform);
            settings[$"PromptAnalyses:Platforms:{section}:Enabled"] = "true";
            settings[$"PromptAnalyses:Platforms:{section}:BaseUrl"] = stub.ToString();
            settings[$"PromptAnalyses:Platforms:{section}:ApiKey"] = "bench-loopback";
            settings[$"PromptAnalyses:Limits:{section}:RequestsPerMinute"] = limit.ToString(CultureInfo.InvariantCulture);
        }

        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton(new DatabaseSettings(DatabaseProvider.PostgreSql, connectionString, MigrateAtStartup: false));
        services.AddPlatformCalls(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        return services.BuildServiceProvider();
    }

    private static async Task MigrateAsync(string connectionString)
    {
        var options = PersistenceRegistration.Configure(new DbContextOptionsBuilder<SagasDbContext>(), DatabaseProvider.PostgreSql, connectionString);
        await using var db = new SagasDbContext((DbContextOptions<SagasDbContext>)options.Options);
        await db.Database.MigrateAsync();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var current = Volatile.Read(ref target); value > current; current = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, current) == current)
                return;
        }
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
