using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sagas.Messaging.Scheduling;

namespace Sagas.Hosting.Health;

internal sealed class SchedulerHealthCheck(ISchedulerStatus scheduler) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = await scheduler.GetStatusAsync(cancellationToken);
        return status.Ready
            ? HealthCheckResult.Healthy(status.Description)
            : HealthCheckResult.Unhealthy(status.Description);
    }
}
