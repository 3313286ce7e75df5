using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Sagas.Core.Configuration;
using Sagas.Persistence;
using Sagas.Persistence.Retention;

namespace Sagas.Modules.Breakers;

public static class BreakerRegistration
{
    /// <summary>
    /// <see cref="ProviderBreakers"/> under <c>Breakers</c> (validated on start), shared through PostgreSQL when that is
    /// the database and kept in memory otherwise, the report loop, and the retention of their transitions. Every process
    /// registers it: the hosting composition calls this, and workflows take <see cref="ProviderBreakers"/>. With
    /// <c>Breakers:Enabled</c> false (the default is true) call sites skip their breaker (see <see cref="ProviderBreakers.Guard{T}"/>)
    /// and the report loop ends at once.
    /// </summary>
    public static IServiceCollection AddProviderBreakers(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(ProviderBreakers)))
            return services;
        services.AddValidatedOptions<BreakerOptions>(configuration, BreakerOptions.SectionName);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(provider => new BreakerDataSource(
            NpgsqlDataSource.Create(provider.GetRequiredService<DatabaseSettings>().ConnectionString)));
        // Switched off, the store stays in memory and empty, so neither a call site nor the API opens a connection for it.
        services.TryAddSingleton<IBreakerStore>(provider =>
            provider.GetRequiredService<BreakerOptions>().Enabled && provider.GetService<DatabaseSettings>() is { Provider: DatabaseProvider.PostgreSql }
                ? new PostgresBreakerStore(provider.GetRequiredService<BreakerDataSource>().DataSource, provider.GetRequiredService<TimeProvider>())
                : new InMemoryBreakerStore(provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ProviderBreakers>();
        services.AddHostedService<BreakerReportLoop>();
        services.AddRetentionRule<BreakerTransitionsRetention>(
            BreakerTransitionsRetention.Name, 30, "provider_breaker_transitions rows (breaker state changes) older than the period; the breakers themselves are kept");
        return services;
    }
}

/// <summary>The breaker store's connection pool, owned by the container so it is disposed with it.</summary>
internal sealed class BreakerDataSource(NpgsqlDataSource dataSource) : IAsyncDisposable, IDisposable
{
    public NpgsqlDataSource DataSource { get; } = dataSource;

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

    public void Dispose() => DataSource.Dispose();
}
