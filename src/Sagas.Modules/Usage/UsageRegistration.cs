using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sagas.Core.Configuration;
using Sagas.Modules.Usage.Budgets;
using Sagas.Persistence.Retention;

namespace Sagas.Modules.Usage;

public static class UsageRegistration
{
    /// <summary>
    /// The price table (read and validated now: a bad row stops start-up), the usage ledger and its metrics, and the
    /// retention of <c>model_usage</c>; budgets (section <c>Budgets</c>, validated on start) with their store, estimator and retention. Every process calls it through <c>AddSagas</c>; a workflow that prices its own
    /// calls may call it too (it registers once).
    /// </summary>
    public static IServiceCollection AddModelUsage(this IServiceCollection services, IConfiguration configuration)
    {
        if (!services.Any(d => d.ServiceType == typeof(PriceTable)))
            services.AddSingleton(PriceTable.Read(configuration));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<UsageMetrics>();
        services.TryAddScoped<UsageLedger>();
        services.AddValidatedOptions<BudgetOptions>(configuration, BudgetOptions.SectionName);
        services.TryAddSingleton<BudgetEstimator>();
        services.TryAddSingleton<BudgetMetrics>();
        services.TryAddScoped<BudgetStore>();
        services.AddRetentionRule<BudgetRetention>(
            BudgetRetention.Name, BudgetRetention.DefaultDays, "budgets untouched for the period (their run ended, their day passed) and closed budget reservations made before it");
        return services.AddRetentionRule<ModelUsageRetention>(
            ModelUsageRetention.Name, ModelUsageRetention.DefaultDays, "model_usage rows (tokens and cost of each model call) of days older than the period; old days are deleted, not rolled up");
    }
}
