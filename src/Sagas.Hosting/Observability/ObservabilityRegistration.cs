using MassTransit.Logging;
using MassTransit.Monitoring;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Sagas.Core.Telemetry;

namespace Sagas.Hosting.Observability;

public static class ObservabilityRegistration
{
    /// <summary>
    /// Tag combinations kept per metric stream. OpenTelemetry allocates every stream's points up front: at its default
    /// (2,000) each of a worker's ~80 streams is a 144 KB array on the large-object heap, 12 MB in all (docs/performance.md,
    /// scan-session RSS). 1,000 keeps each array under the large-object threshold and is still far above the combinations
    /// our hosts produce (message types × consumers × endpoints); past it a stream counts into its overflow point.
    /// </summary>
    public const int MetricCardinalityLimit = 1_000;

    /// <summary>
    /// Structured console logs (JSON in containers or when Logging:Format=json), OpenTelemetry metrics from MassTransit,
    /// ASP.NET Core, HttpClient, Npgsql and our own meter with a Prometheus scrape endpoint, and, when
    /// OTEL_EXPORTER_OTLP_ENDPOINT is set, traces of the same sources and OTLP export of all three signals.
    /// </summary>
    public static IHostApplicationBuilder AddSagasObservability(this IHostApplicationBuilder builder, string serviceName)
    {
        var format = builder.Configuration["Logging:Format"];
        var inContainer = string.Equals(builder.Configuration["DOTNET_RUNNING_IN_CONTAINER"], "true", StringComparison.OrdinalIgnoreCase);
        builder.Logging.ClearProviders();
        if (string.Equals(format, "json", StringComparison.OrdinalIgnoreCase) || (format is null && inContainer))
        {
            builder.Logging.AddJsonConsole(options =>
            {
                options.IncludeScopes = true;
                options.UseUtcTimestamp = true;
                options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.UseUtcTimestamp = true;
                options.TimestampFormat = "HH:mm:ss.fff ";
            });
        }

        var otlpConfigured = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName, serviceInstanceId: Environment.MachineName))
            .WithMetrics(metrics => metrics
                .AddMeter(InstrumentationOptions.MeterName)
                .AddMeter(SagasTelemetry.Name)
                .AddMeter("Npgsql")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentationIfAvailable()
                .AddView(_ => new MetricStreamConfiguration { CardinalityLimit = MetricCardinalityLimit })
                .AddPrometheusExporter());

        if (otlpConfigured)
        {
            // Traces are recorded only when they are exported: with no collector nobody reads them, and creating a span
            // for every provider call, query and message took a measurable share of a worker's CPU (docs/performance.md).
            telemetry.WithTracing(tracing => tracing
                .AddSource(DiagnosticHeaders.DefaultListenerName)
                .AddSource(SagasTelemetry.Name)
                .AddAspNetCoreInstrumentation(options => options.Filter = context => !IsOperationalPath(context.Request.Path))
                .AddHttpClientInstrumentation()
                .AddNpgsql());
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
            });
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    private static bool IsOperationalPath(Microsoft.AspNetCore.Http.PathString path) =>
        path.StartsWithSegments("/health", StringComparison.Ordinal) || path.StartsWithSegments("/metrics", StringComparison.Ordinal);

    // The .NET runtime publishes its own meter since .NET 9; listening to it costs nothing when nobody scrapes.
    private static MeterProviderBuilder AddRuntimeInstrumentationIfAvailable(this MeterProviderBuilder metrics) =>
        metrics.AddMeter("System.Runtime");
}
