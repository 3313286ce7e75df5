using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Components.Tests.PromptAnalyses.Platforms;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.PromptAnalyses.Calls;
using Sagas.PromptAnalyses.Data;
using Xunit.Abstractions;

namespace Sagas.Integration.Tests.PromptAnalyses;

public sealed class When_several_processes_share_a_platform_budget_in_PostgreSQL(PostgresDatabase database, ITestOutputHelper output)
    : IClassFixture<PostgresDatabase>
{
    [ServerFact]
    public async Task Should_hand_out_every_slot_exactly_once_to_concurrent_callers_of_two_stores()
    {
        await MigrateAsync();
        await using var processes = new TwoProcesses(database.ConnectionString);
        IRateBudgetStore[] stores = [processes.First, processes.Second];

        // One a minute: all 40 reservations are made long before the second slot, so each wait names its slot.
        var rate = new PlatformRate(TimeSpan.FromMinutes(1), TimeSpan.Zero);
        var waits = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            stores[i % 2].ReserveAsync("slots-once", rate, 0, CancellationToken.None).AsTask()));

        var slots = waits.Select(wait => (int)Math.Round(wait / TimeSpan.FromMinutes(1))).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 40).ToList(), slots);
    }

    [ServerFact]
    public async Task Should_make_every_process_wait_out_a_pause_another_observed()
    {
        await MigrateAsync();
        await using var processes = new TwoProcesses(database.ConnectionString);
        var (observer, other) = (processes.First, processes.Second);
        var rate = new PlatformRate(TimeSpan.FromMilliseconds(10), TimeSpan.Zero);

        await observer.ReserveAsync("paused", rate, 0, CancellationToken.None);
        await observer.ObserveAsync("paused", new RateBudgetObservation { PauseFor = TimeSpan.FromMinutes(10) }, CancellationToken.None);
        var wait = await other.ReserveAsync("paused", rate, 0, CancellationToken.None);

        Assert.InRange(wait, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
    }

    [ServerFact]
    public async Task Should_charge_tokens_and_follow_a_lowered_pace_across_processes()
    {
        await MigrateAsync();
        await using var processes = new TwoProcesses(database.ConnectionString);
        var (one, two) = (processes.First, processes.Second);
        var rate = new PlatformRate(TimeSpan.Zero, TimeSpan.FromSeconds(1));

        await one.ReserveAsync("tokens", rate, 60, CancellationToken.None);
        await one.AdjustTokensAsync("tokens", rate, 60, CancellationToken.None);
        var afterTokens = await two.ReserveAsync("tokens", rate, 0, CancellationToken.None);
        await two.ObserveAsync("tokens", new RateBudgetObservation { RequestIntervalFloor = TimeSpan.FromMinutes(5), RequestFloorFor = TimeSpan.FromHours(1) }, CancellationToken.None);
        await one.ReserveAsync("tokens", rate, 0, CancellationToken.None);
        var lowered = await one.ReserveAsync("tokens", rate, 0, CancellationToken.None);

        // 60 estimated + 60 charged at 1 s per token, then one slot 5 min after the next.
        Assert.InRange(afterTokens, TimeSpan.FromSeconds(110), TimeSpan.FromSeconds(120));
        Assert.InRange(lowered - afterTokens, TimeSpan.FromMinutes(4.9), TimeSpan.FromMinutes(5.1));
    }

    [ServerFact]
    public async Task Should_move_every_later_slot_on_by_a_late_departure_for_every_process()
    {
        await MigrateAsync();
        await using var processes = new TwoProcesses(database.ConnectionString);
        var (late, other) = (processes.First, processes.Second);
        var rate = new PlatformRate(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1));

        await late.ReserveAsync("departed-late", rate, 0, CancellationToken.None);
        await late.ReserveAsync("departed-late", rate, 5, CancellationToken.None);
        var reserved = await ReadBudgetAsync("departed-late");
        await late.DepartedLateAsync("departed-late", TimeSpan.FromSeconds(30), CancellationToken.None);
        var moved = await ReadBudgetAsync("departed-late");
        var next = await other.ReserveAsync("departed-late", rate, 0, CancellationToken.None);

        Assert.Equal(reserved.RequestHorizon + TimeSpan.FromSeconds(30), moved.RequestHorizon);
        Assert.Equal(reserved.TokenHorizon + TimeSpan.FromSeconds(30), moved.TokenHorizon);
        Assert.Equal(reserved.LastSlot, moved.LastSlot);

        // Slots now and in a minute, then the third two minutes on plus the 30 s the second one lost.
        Assert.InRange(next, TimeSpan.FromSeconds(145), TimeSpan.FromSeconds(150));
    }

    /// <summary>
    /// The store writes its timestamps with raw SQL (database clock, '-infinity' for "never"); each statement's
    /// values must read back through the model as the instants they stand for.
    /// </summary>
    [ServerFact]
    public async Task Should_write_timestamps_the_model_reads_back_from_each_statement()
    {
        await MigrateAsync();
        await using var source = NpgsqlDataSource.Create(database.ConnectionString);
        var store = new PostgresRateBudgetStore(source);
        var rate = new PlatformRate(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1));
        var slack = TimeSpan.FromSeconds(5);
        var before = DateTimeOffset.UtcNow - slack;

        // INSERT: the first reservation of a platform.
        await store.ReserveAsync("timestamps", rate, 10, CancellationToken.None);
        var inserted = await ReadBudgetAsync("timestamps");
        var after = DateTimeOffset.UtcNow + slack;
        Assert.InRange(inserted.LastSlot, before, after);
        Assert.InRange(inserted.RequestHorizon, before + TimeSpan.FromMinutes(1), after + TimeSpan.FromMinutes(1));
        Assert.InRange(inserted.TokenHorizon, before + TimeSpan.FromSeconds(10), after + TimeSpan.FromSeconds(10));
        Assert.Equal((DateTimeOffset.MinValue, DateTimeOffset.MinValue, DateTimeOffset.MinValue), (inserted.PausedUntil, inserted.RequestFloorUntil, inserted.TokenFloorUntil));

        // ON CONFLICT DO UPDATE: the next reservation takes the slot the first one left.
        await store.ReserveAsync("timestamps", rate, 0, CancellationToken.None);
        var updated = await ReadBudgetAsync("timestamps");
        Assert.Equal(inserted.RequestHorizon, updated.LastSlot);
        Assert.Equal(inserted.RequestHorizon + TimeSpan.FromMinutes(1), updated.RequestHorizon);

        // The token adjustment.
        await store.AdjustTokensAsync("timestamps", rate, 30, CancellationToken.None);
        var adjusted = await ReadBudgetAsync("timestamps");
        Assert.Equal(updated.TokenHorizon + TimeSpan.FromSeconds(30), adjusted.TokenHorizon);

        // An observation: a pause and a slower pace, each until a time.
        before = DateTimeOffset.UtcNow - slack;
        await store.ObserveAsync("timestamps", new RateBudgetObservation { PauseFor = TimeSpan.FromMinutes(3), RequestIntervalFloor = TimeSpan.FromMinutes(2), RequestFloorFor = TimeSpan.FromHours(1) }, CancellationToken.None);
        var observed = await ReadBudgetAsync("timestamps");
        after = DateTimeOffset.UtcNow + slack;
        Assert.InRange(observed.PausedUntil, before + TimeSpan.FromMinutes(3), after + TimeSpan.FromMinutes(3));
        Assert.InRange(observed.RequestFloorUntil, before + TimeSpan.FromHours(1), after + TimeSpan.FromHours(1));
        Assert.Equal(120, observed.RequestFloorSeconds);
        Assert.Equal(DateTimeOffset.MinValue, observed.TokenFloorUntil);
        Assert.All(
            new[] { observed.LastSlot, observed.RequestHorizon, observed.TokenHorizon, observed.PausedUntil, observed.RequestFloorUntil },
            time => Assert.Equal(TimeSpan.Zero, time.Offset));
    }

    /// <summary>
    /// The test: two separate worker processes hammer Gemini at 300 requests per minute between them, with
    /// eight callers each. The budget spaces requests evenly, so at the stub every 10 s window may hold at most 50
    /// (a per-process limit would let through about twice that). Each worker warms up with one call before the count
    /// starts.
    /// </summary>
    [ServerFact]
    public async Task Should_hold_a_requests_per_minute_limit_across_two_worker_processes()
    {
        await MigrateAsync();
        var arrivals = new ConcurrentQueue<DateTimeOffset>();
        await using var stub = await HttpStub.StartAsync(app => app.MapPost("/v1beta/models/{**rest}", () =>
        {
            arrivals.Enqueue(DateTimeOffset.UtcNow);
            return Results.Text(ProviderShapes.GeminiGroundedAnswer, "application/json");
        }));

        const int requestsPerMinute = 300;
        var workers = Enumerable.Range(0, 2).Select(_ => StartWorker(stub.BaseAddress, requestsPerMinute, seconds: 24)).ToList();
        try
        {
            foreach (var worker in workers)
                Assert.Equal("ready", await ReadLineAsync(worker, TimeSpan.FromSeconds(60)));
            arrivals.Clear();
            foreach (var worker in workers)
                await worker.StandardInput.WriteLineAsync("go");

            var results = new List<(int Succeeded, int Failed)>();
            foreach (var worker in workers)
            {
                var done = await ReadLineAsync(worker, TimeSpan.FromSeconds(60));
                output.WriteLine($"worker {worker.Id}: {done}");
                var parts = done!.Split(' ');
                results.Add((int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture)));
            }

            var busiest = BusiestWindow(arrivals, TimeSpan.FromSeconds(10));
            output.WriteLine($"stub saw {arrivals.Count} requests; busiest 10 s window {busiest}");
            Assert.All(results, result => Assert.True(result.Succeeded > 0, "both processes must have called the platform"));
            Assert.All(results, result => Assert.Equal(0, result.Failed));
            Assert.True(arrivals.Count >= results.Sum(r => r.Succeeded));
            Assert.True(arrivals.Count > requestsPerMinute / 6, "the callers must have pressed against the limit");
            Assert.InRange(busiest, 1, requestsPerMinute / 6);
        }
        finally
        {
            foreach (var worker in workers)
            {
                if (!worker.HasExited)
                    worker.Kill(entireProcessTree: true);
                worker.Dispose();
            }
        }
    }

    private Process StartWorker(Uri stub, int requestsPerMinute, int seconds)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     ProbeAssembly(), PromptLimitProbeSubcommand,
                     "--connection", database.ConnectionString, "--platform", "gemini", "--base-url", stub.ToString(),
                     "--rpm", requestsPerMinute.ToString(CultureInfo.InvariantCulture), "--callers", "8",
                     "--seconds", seconds.ToString(CultureInfo.InvariantCulture),
                     // 10 % of a 10 s window is 1 s of slack for a loaded machine's scheduling jitter between permit and stub.
                     "--margin", "0.1",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("could not start the probe worker");
    }

    private const string PromptLimitProbeSubcommand = "prompt-limit-probe";

    /// <summary>The benchmark executable hosts the probe; it is built alongside this project (see the csproj) in the same configuration.</summary>
    private static string ProbeAssembly()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = output.Name;
        var configuration = output.Parent!.Name;
        var tests = output.Parent.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(tests, "Sagas.Benchmarks", "bin", configuration, framework, "Sagas.Benchmarks.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build tests/Sagas.Benchmarks first.", path);
    }

    private static async Task<string?> ReadLineAsync(Process process, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        return await process.StandardOutput.ReadLineAsync(cancellation.Token);
    }

    private static int BusiestWindow(IEnumerable<DateTimeOffset> times, TimeSpan window)
    {
        var sorted = times.Order().ToList();
        var busiest = 0;
        for (int first = 0, last = 0; last < sorted.Count; last++)
        {
            while (sorted[last] - sorted[first] >= window)
                first++;
            busiest = Math.Max(busiest, last - first + 1);
        }

        return busiest;
    }

    /// <summary>Two stores on data sources of their own: two processes sharing one budget.</summary>
    private sealed class TwoProcesses : IAsyncDisposable
    {
        private readonly NpgsqlDataSource _first;
        private readonly NpgsqlDataSource _second;

        public TwoProcesses(string connectionString)
        {
            _first = NpgsqlDataSource.Create(connectionString);
            _second = NpgsqlDataSource.Create(connectionString);
            First = new PostgresRateBudgetStore(_first);
            Second = new PostgresRateBudgetStore(_second);
        }

        public PostgresRateBudgetStore First { get; }

        public PostgresRateBudgetStore Second { get; }

        public async ValueTask DisposeAsync()
        {
            await _first.DisposeAsync();
            await _second.DisposeAsync();
        }
    }

    private async Task<PlatformRateLimitRow> ReadBudgetAsync(string platform)
    {
        await using var db = database.NewContext();
        return await db.Set<PlatformRateLimitRow>().AsNoTracking().SingleAsync(row => row.Platform == platform);
    }

    private async Task MigrateAsync()
    {
        await using var db = database.NewContext();
        await db.Database.MigrateAsync();
    }
}
