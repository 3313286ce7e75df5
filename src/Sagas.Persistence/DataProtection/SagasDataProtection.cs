using System.Reflection;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Sagas.Persistence.DataProtection;

/// <summary>
/// ASP.NET Core Data Protection with its key ring in the shared database, so that what one process protects (the API
/// storing a user's token) every other process (the file workers) can read, and nothing secret needs to travel in a
/// message. Every process of a deployment shares the key ring and the application name.
/// </summary>
public static class SagasDataProtection
{
    /// <summary>Isolates these payloads from those of other applications that might share the key table.</summary>
    public const string ApplicationName = "Sagas";

    /// <summary>The assembly whose entity configuration adds <c>data_protection_keys</c> to the database model.</summary>
    public static Assembly ModelAssembly => typeof(SagasDataProtection).Assembly;

    /// <summary>Needs <see cref="DatabaseSettings"/> (registered by <c>AddSagasPersistence</c>).</summary>
    public static IServiceCollection AddSagasDataProtection(this IServiceCollection services)
    {
        if (services.Any(descriptor => descriptor.ServiceType == typeof(DataProtectionKeyContext)))
            return services;

        // Data Protection registers a hosted service that loads (and, on an empty table, creates) the key ring at
        // start. The shared first key must exist before it runs, so ours is registered first: hosted services start in
        // registration order.
        if (services.Any(descriptor => descriptor.ServiceType == typeof(IHostedService) && descriptor.ImplementationType?.Name == "DataProtectionHostedService"))
        {
            throw new InvalidOperationException(
                "Data Protection was added before AddSagas: call AddSagas first, so the shared key ring's first key is made " +
                "(once, under a database lock) before Data Protection loads it.");
        }

        services.AddHostedService<DataProtectionKeyRingInitializer>();
        services.AddDbContext<DataProtectionKeyContext>((provider, builder) =>
        {
            var settings = provider.GetRequiredService<DatabaseSettings>();
            if (settings.Provider == DatabaseProvider.PostgreSql)
                builder.UseNpgsql(settings.ConnectionString);
            else
                builder.UseSqlite(settings.ConnectionString);
            builder.UseSnakeCaseNamingConvention();
        });
        services.AddDataProtection()
            .SetApplicationName(ApplicationName)
            .PersistKeysToDbContext<DataProtectionKeyContext>();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}
