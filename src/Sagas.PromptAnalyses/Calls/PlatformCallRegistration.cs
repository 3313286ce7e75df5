using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Sagas.Core.Configuration;
using Sagas.Modules.Breakers;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.PromptAnalyses.Calls;

public static class PlatformCallRegistration
{
    /// <summary>
    /// The platforms plus <see cref="IPlatformCaller"/>, the only way the workflow asks them, under the budgets of
    /// <c>PromptAnalyses:Limits</c> (validated on start: a negative limit stops start-up). The budget is shared
    /// through PostgreSQL when that is the database, and kept in memory otherwise (SQLite is one process).
    /// </summary>
    public static IServiceCollection AddPlatformCalls(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddAnalysisPlatforms(configuration);
        services.AddValidatedOptions<PlatformLimitsOptions>(configuration, PlatformLimitsOptions.SectionName);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(provider => new PlatformRetryPolicy(provider.GetRequiredService<PlatformLimitsOptions>().Retry));
        services.TryAddSingleton<IRateBudgetStore>(provider =>
            provider.GetService<DatabaseSettings>() is { Provider: DatabaseProvider.PostgreSql }
                ? new PostgresRateBudgetStore(provider.GetRequiredService<RateBudgetDataSource>().DataSource)
                : new InMemoryRateBudgetStore(provider.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(provider => new RateBudgetDataSource(RateBudgetDataSource.Create(provider.GetRequiredService<DatabaseSettings>().ConnectionString)));
        services.TryAddSingleton<PlatformRateLimiter>();
        services.AddProviderBreakers(configuration);
        services.TryAddSingleton<IPlatformCaller, PlatformCaller>();
        return services;
    }
}

/// <summary>The connection pool of the budget store, owned by the container so it is disposed with it.</summary>
internal sealed class RateBudgetDataSource(NpgsqlDataSource dataSource) : IAsyncDisposable, IDisposable
{
    public NpgsqlDataSource DataSource { get; } = dataSource;

    /// <summary>
    /// Reservations commit without waiting for the WAL flush: a crash can lose the last few milliseconds of horizon
    /// moves (a few requests' worth of spacing, once), while a flush per permit would add its latency, variably, to
    /// every request's departure and bunch them at the provider.
    /// </summary>
    public static NpgsqlDataSource Create(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Options = string.IsNullOrWhiteSpace(builder.Options) ? "-c synchronous_commit=off" : builder.Options + " -c synchronous_commit=off";
        return NpgsqlDataSource.Create(builder.ConnectionString);
    }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

    public void Dispose() => DataSource.Dispose();
}
