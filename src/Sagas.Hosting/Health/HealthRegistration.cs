using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Sagas.Hosting.Health;

public static class HealthRegistration
{
    public const string ReadyTag = "ready";

    public static IServiceCollection AddSagasHealthChecks(this IServiceCollection services)
    {
        // MassTransit registers its bus check itself, tagged "ready".
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: [ReadyTag])
            .AddCheck<SchedulerHealthCheck>("scheduler", tags: [ReadyTag]);
        return services;
    }

    /// <summary>
    /// <c>/health/live</c>: the process answers (no dependency is checked, so a broker outage never restarts it);
    /// <c>/health/ready</c> and <c>/health</c>: database, bus and scheduler, with a JSON body naming each.
    /// </summary>
    public static IEndpointRouteBuilder MapSagasHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        // Probes carry no credentials.
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteJson }).AllowAnonymous();
        var ready = new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag), ResponseWriter = WriteJson };
        endpoints.MapHealthChecks("/health/ready", ready).AllowAnonymous();
        endpoints.MapHealthChecks("/health", ready).AllowAnonymous();
        return endpoints;
    }

    private static Task WriteJson(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            durationMs = Math.Round(report.TotalDuration.TotalMilliseconds, 1),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new { status = entry.Value.Status.ToString(), description = entry.Value.Description }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonOptions), context.RequestAborted);
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = false };
}
