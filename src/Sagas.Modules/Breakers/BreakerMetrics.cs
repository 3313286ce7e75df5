using System.Diagnostics;
using System.Diagnostics.Metrics;
using Sagas.Core.Telemetry;

namespace Sagas.Modules.Breakers;

/// <summary>
/// <c>sagas.breaker.state</c> (0 closed, 1 half-open, 2 open, as this process last read it), <c>sagas.breaker.transitions</c>
/// (counted by the process that made the change, so the cluster's sum is the number of transitions) and
/// <c>sagas.breaker.rejected</c> (calls an open breaker turned away), each tagged with provider and model.
/// </summary>
public static class BreakerMetrics
{
    private static readonly Counter<long> Transitions = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.breaker.transitions", description: "Provider breaker state changes, by provider, model and new state.");

    private static readonly Counter<long> Rejections = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.breaker.rejected", description: "Calls an open provider breaker turned away (deferred, never a spent retry).");

    private static ProviderBreakers? _watched;

    static BreakerMetrics() =>
        SagasTelemetry.Meter.CreateObservableGauge(
            "sagas.breaker.state",
            () => _watched?.Known.Select(b => new Measurement<int>((int)b.State, Tags(b.Key))) ?? [],
            description: "Provider breaker state as this process sees it: 0 closed, 1 half-open, 2 open.");

    internal static void Watch(ProviderBreakers breakers) => _watched = breakers;

    internal static void Transitioned(BreakerTransition transition)
    {
        var tags = Tags(transition.Key);
        tags.Add("to", transition.To.Name());
        Transitions.Add(1, tags);
    }

    internal static void Rejected(BreakerKey key) => Rejections.Add(1, Tags(key));

    private static TagList Tags(BreakerKey key) => new() { { "provider", key.Provider }, { "model", key.Model } };
}
