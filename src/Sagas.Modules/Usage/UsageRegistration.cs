using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sagas.Persistence.Retention;

namespace Sagas.Modules.Usage;

public static class UsageRegistration
{
    /// <summary>
    /// The price table (read and validated now: a bad row stops start-up), the usage ledger and its metrics, and the
    /// retention of <c>model_usage</c>. Every process calls it through <c>AddSagas</c>; a workflow that prices its own
    /// calls may call it too (it registers once).
    /// </summary>
    public static IServiceCollection AddModelUsage(this IServiceCollection services, IConfiguration configuration)
    {
        if (!services.Any(d => d.ServiceType == typeof(PriceTable)))
            services.AddSingleton(PriceTable.Read(configuration));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<UsageMetrics>();
        services.TryAddScoped<UsageLedger>();
        return services.AddRetentionRule<ModelUsageRetention>(
            ModelUsageRetention.Name, ModelUsageRetention.DefaultDays, "model_usage rows (tokens and cost of each model call) of days older than the period; old days are deleted, not rolled up");
    }
}
