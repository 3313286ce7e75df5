using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Sagas.Core.Telemetry;
using Sagas.Hosting.Observability;

namespace Sagas.Components.Tests.Observability;

/// <summary>
/// Every metric stream's points are allocated up front; at OpenTelemetry's default of 2,000 each stream was a 144 KB
/// array on the large-object heap (docs/performance.md, scan-session worker RSS).
/// </summary>
public sealed class When_a_metric_sees_more_tag_combinations_than_a_stream_keeps
{
    [Fact]
    public void Should_keep_at_most_the_hosts_limit_of_points_and_still_count_every_measurement()
    {
        const int combinations = 1_500;
        var exporter = new CollectingExporter("sagas.spec.cardinality");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.AddSagasObservability("cardinality-specs");
        builder.Services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddReader(new BaseExportingMetricReader(exporter)));
        using var host = builder.Build();
        var provider = host.Services.GetRequiredService<MeterProvider>();
        using var meter = new Meter(SagasTelemetry.Name);
        var counter = meter.CreateCounter<long>("sagas.spec.cardinality");

        for (var i = 0; i < combinations; i++)
            counter.Add(1, new KeyValuePair<string, object?>("item", i));
        provider.ForceFlush();

        // The limit counts tag combinations; the measurements past it share one more point, the overflow one.
        Assert.InRange(exporter.Points, 1, ObservabilityRegistration.MetricCardinalityLimit + 1);
        Assert.Equal(combinations, exporter.Sum);
    }

    private sealed class CollectingExporter(string metricName) : BaseExporter<Metric>
    {
        public int Points { get; private set; }

        public long Sum { get; private set; }

        public override ExportResult Export(in Batch<Metric> batch)
        {
            foreach (var metric in batch)
            {
                if (metric.Name != metricName)
                    continue;
                Points = 0;
                Sum = 0;
                foreach (ref readonly var point in metric.GetMetricPoints())
                {
                    Points++;
                    Sum += point.GetSumLong();
                }
            }

            return ExportResult.Success;
        }
    }
}
