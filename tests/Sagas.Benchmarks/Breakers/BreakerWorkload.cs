using System.Diagnostics;
using System.Globalization;
using Sagas.Modules.Breakers;

namespace Sagas.Benchmarks.Breakers;

/// <summary>
/// The price of a closed breaker on the hot path: ask it and count the outcome, as every provider call does, on one
/// thread and on every core at once (one shared breaker, the contended case). No server: the store is never touched
/// while the breaker is closed, which the run checks.
/// </summary>
internal sealed class BreakerWorkload : IWorkload
{
    public string Name => "breaker";

    public string Description => "closed-breaker check and outcome count per call: ns/call and bytes allocated, 1 thread and all cores";

    public Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var calls = quick ? 1_000_000 : 20_000_000;
        var store = new CountingStore(new InMemoryBreakerStore(TimeProvider.System));
        var breakers = new ProviderBreakers(new BreakerOptions { Enabled = true }, store, TimeProvider.System);
        var breaker = breakers.For("openai", "gpt-4o");
        Run(breaker, calls / 10);

        var (single, allocated) = Run(breaker, calls);
        var threads = Environment.ProcessorCount;
        var watch = Stopwatch.StartNew();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Run(breaker, calls / threads));
        var parallel = watch.Elapsed.TotalNanoseconds / calls;

        Console.WriteLine("| case | ns per call | bytes allocated per call |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| 1 thread, {calls:N0} calls | {single:F1} | {allocated:F3} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {threads} threads on one breaker (wall time / calls) | {parallel:F1} | |"));
        // A few bytes over millions of calls are the runtime's own (tiered compilation), not the breaker's.
        if (store.Calls != 0 || allocated >= 0.001)
        {
            Console.Error.WriteLine($"A closed breaker touched its store {store.Calls} time(s) or allocated {allocated} bytes per call.");
            return Task.FromResult(1);
        }

        return Task.FromResult(0);
    }

    private static (double NanosecondsPerCall, double BytesPerCall) Run(ProviderBreaker breaker, int calls)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < calls; i++)
        {
            var permit = breaker.EnterAsync(CancellationToken.None);
            if (!permit.IsCompletedSuccessfully)
                throw new InvalidOperationException("A closed breaker answered asynchronously.");
            // One failure in 64: never a streak, so the breaker stays closed as a healthy provider's does.
            breaker.Record(failed: (i & 63) == 0);
        }

        var elapsed = watch.Elapsed;
        return (elapsed.TotalNanoseconds / calls, (double)(GC.GetAllocatedBytesForCurrentThread() - before) / calls);
    }

    /// <summary>Counts every store call: a closed breaker must make none.</summary>
    private sealed class CountingStore(IBreakerStore inner) : IBreakerStore
    {
        public int Calls;

        public Task<IReadOnlyList<BreakerRecord>> ReportAsync(IReadOnlyList<BreakerReport> reports, Func<BreakerKey, BreakerSettings> settings, CancellationToken cancellationToken) => Count(inner.ReportAsync(reports, settings, cancellationToken));

        public Task<(bool Claimed, BreakerRecord Record)> TryClaimProbeAsync(BreakerKey key, BreakerSettings settings, CancellationToken cancellationToken) => Count(inner.TryClaimProbeAsync(key, settings, cancellationToken));

        public Task<BreakerRecord> CompleteProbeAsync(BreakerKey key, bool succeeded, BreakerSettings settings, CancellationToken cancellationToken) => Count(inner.CompleteProbeAsync(key, succeeded, settings, cancellationToken));

        public Task<BreakerRecord?> ResetAsync(BreakerKey key, CancellationToken cancellationToken) => Count(inner.ResetAsync(key, cancellationToken));

        public Task<IReadOnlyList<BreakerRecord>> ListAsync(CancellationToken cancellationToken) => Count(inner.ListAsync(cancellationToken));

        public Task<IReadOnlyList<BreakerTransition>> TransitionsAsync(BreakerKey? key, int limit, CancellationToken cancellationToken) => Count(inner.TransitionsAsync(key, limit, cancellationToken));

        private T Count<T>(T result)
        {
            Interlocked.Increment(ref Calls);
            return result;
        }
    }
}
