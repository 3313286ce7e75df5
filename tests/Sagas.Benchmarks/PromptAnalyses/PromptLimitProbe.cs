using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Calls;

namespace Sagas.Benchmarks.PromptAnalyses;

/// <summary>
/// A worker process for the cluster-limit spec: asks one platform through <see cref="IPlatformCaller"/> with the
/// PostgreSQL budget, from several concurrent callers, for a fixed time. It prints <c>ready</c> after one warm-up call, starts on a
/// <c>go</c> line on stdin (so two processes start together) and ends with <c>done {succeeded} {failed}</c>.
/// </summary>
internal static class PromptLimitProbe
{
    public const string Subcommand = "prompt-limit-probe";

    public static async Task<int> RunAsync(string[] args)
    {
        var options = args.Chunk(2).ToDictionary(pair => pair[0].TrimStart('-'), pair => pair[1], StringComparer.OrdinalIgnoreCase);
        var platform = options["platform"];
        var section = ProviderStubs.SectionOf(platform);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"PromptAnalyses:Platforms:{section}:Enabled"] = "true",
            [$"PromptAnalyses:Platforms:{section}:BaseUrl"] = options["base-url"],
            [$"PromptAnalyses:Platforms:{section}:ApiKey"] = "probe-key",
            ["PromptAnalyses:Platforms:Simulated:Enabled"] = "false",
            [$"PromptAnalyses:Limits:{section}:RequestsPerMinute"] = options["rpm"],
            ["PromptAnalyses:Limits:SafetyMargin"] = options.GetValueOrDefault("margin", "0.03"),
        }).Build();

        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(new DatabaseSettings(DatabaseProvider.PostgreSql, options["connection"], MigrateAtStartup: false));
        services.AddPlatformCalls(configuration);
        await using var provider = services.BuildServiceProvider();
        var caller = provider.GetRequiredService<IPlatformCaller>();
        var callers = int.Parse(options["callers"], CultureInfo.InvariantCulture);
        var duration = TimeSpan.FromSeconds(double.Parse(options["seconds"], CultureInfo.InvariantCulture));

        // A cold process's first requests (JIT, connection set-up) leave late and arrive bunched; the spec measures the
        // steady state, so the pipeline is warmed before it starts counting.
        var warmUp = await caller.CallAsync(platform, "warm-up", null, CancellationToken.None);
        if (!warmUp.Succeeded)
        {
            Console.WriteLine($"warm-up failed: {warmUp.Error}");
            return 1;
        }

        Console.WriteLine("ready");
        if (Console.ReadLine() != "go")
            return 2;

        using var stop = new CancellationTokenSource(duration);
        var succeeded = 0;
        var failed = 0;
        await Task.WhenAll(Enumerable.Range(0, callers).Select(async index =>
        {
            for (var call = 0; !stop.IsCancellationRequested; call++)
            {
                try
                {
                    var outcome = await caller.CallAsync(platform, $"probe {Environment.ProcessId} caller {index} call {call}", null, stop.Token);
                    if (outcome.Succeeded)
                        Interlocked.Increment(ref succeeded);
                    else
                        Interlocked.Increment(ref failed);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // The window is over; a call still waiting for its slot never reached the provider.
                }
            }
        }));

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done {succeeded} {failed}"));
        return 0;
    }
}
