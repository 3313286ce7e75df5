using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Sagas.Core.Telemetry;

/// <summary>The activity source and meter every Sagas component reports through.</summary>
public static class SagasTelemetry
{
    public const string Name = "Sagas";

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);
}
