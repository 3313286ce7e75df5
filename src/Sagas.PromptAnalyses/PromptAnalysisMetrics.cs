using System.Diagnostics.Metrics;
using Sagas.Core.Telemetry;

namespace Sagas.PromptAnalyses;

/// <summary>
/// What the claim step saw: the analyses running across the cluster right after its last claim in this process
/// (gauge <c>sagas.prompt_analyses.in_flight</c>) and the highest such count since start (for tests and benchmarks:
/// it can never exceed <see cref="PromptAnalysesOptions.MaxConcurrentAnalyses"/>).
/// </summary>
public static class PromptAnalysisMetrics
{
    private static long _inFlight;
    private static long _maxInFlight;

    private static readonly Counter<long> Claimed = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.prompt_analyses.claimed", "{analysis}", "Analyses moved from pending to running by the claim step.");

    private static readonly Counter<long> PlatformCalls = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.prompt_analyses.platform_calls", "{call}",
        "Requests sent to a platform (each retry attempt counts): what a provider sees and bills, beside the responses stored.");

    static PromptAnalysisMetrics()
    {
        SagasTelemetry.Meter.CreateObservableGauge(
            "sagas.prompt_analyses.in_flight", () => Interlocked.Read(ref _inFlight), "{analysis}",
            "Analyses running across the cluster, as the last claim in this process counted them.");
    }

    public static long InFlight => Interlocked.Read(ref _inFlight);

    public static long MaxObservedInFlight => Interlocked.Read(ref _maxInFlight);

    internal static void PlatformCalled(string platform) =>
        PlatformCalls.Add(1, new KeyValuePair<string, object?>("platform", platform));

    internal static void Observe(long running, int claimed)
    {
        Interlocked.Exchange(ref _inFlight, running);
        long seen;
        while (running > (seen = Interlocked.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, running, seen) != seen)
        {
        }

        if (claimed > 0)
            Claimed.Add(claimed);
    }
}
