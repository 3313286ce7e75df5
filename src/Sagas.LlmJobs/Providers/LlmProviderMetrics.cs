using System.Diagnostics;
using System.Diagnostics.Metrics;
using Sagas.Core.Telemetry;

namespace Sagas.LlmJobs.Providers;

/// <summary>Provider call counts and durations, per provider, operation and outcome (ok, transient, permanent).</summary>
internal static class LlmProviderMetrics
{
    private static readonly Counter<long> Calls = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.llm.provider.calls", description: "Calls to an LLM provider, by outcome.");

    private static readonly Histogram<double> Duration = SagasTelemetry.Meter.CreateHistogram<double>(
        "sagas.llm.provider.call.duration", unit: "s", description: "Duration of one LLM provider call attempt.");

    public static void Record(string provider, string operation, string outcome, long startedTimestamp)
    {
        var tags = new TagList { { "provider", provider }, { "operation", operation }, { "outcome", outcome } };
        Calls.Add(1, tags);
        Duration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, tags);
    }

    public static string OutcomeOf(LlmProviderException exception) => exception.IsTransient ? "transient" : "permanent";
}
