using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Sagas.Hosting.Observability;

namespace Sagas.Components.Tests.Observability;

/// <summary>
/// Spans cost CPU on every provider call, query and message; they are recorded only for a process that exports them.
/// Metrics stay on either way, because /metrics serves them.
/// </summary>
public sealed class When_a_process_has_no_trace_collector
{
    [Fact]
    public void Should_record_no_traces_but_keep_its_metrics()
    {
        using var host = Build(otlpEndpoint: null);

        Assert.Null(host.Services.GetService<TracerProvider>());
        Assert.NotNull(host.Services.GetService<MeterProvider>());
    }

    [Fact]
    public void Should_record_traces_once_an_otlp_endpoint_is_set()
    {
        using var host = Build(otlpEndpoint: "http://127.0.0.1:4317");

        Assert.NotNull(host.Services.GetService<TracerProvider>());
        Assert.NotNull(host.Services.GetService<MeterProvider>());
    }

    private static IHost Build(string? otlpEndpoint)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint });
        builder.AddSagasObservability("tracing-specs");
        return builder.Build();
    }
}
