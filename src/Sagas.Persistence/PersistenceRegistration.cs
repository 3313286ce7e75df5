using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Sagas.Persistence;

public static class PersistenceRegistration
{
    /// <summary>Registers <see cref="SagasDbContext"/> for the configured provider and the start-up schema step.</summary>
    public static IServiceCollection AddSagasPersistence(this IServiceCollection services, IConfiguration configuration, string contentRoot)
    {
        var options = DatabaseOptions.Read(configuration);
        var provider = options.ParseProvider();
        var connectionString = options.ResolveConnectionString(contentRoot);

        services.AddSingleton(new DatabaseSettings(provider, connectionString, options.MigrateAtStartup));
        services.AddDbContext<SagasDbContext>(builder => Configure(builder, provider, connectionString));
        services.AddHostedService<DatabaseInitializer>();
        return services;
    }

    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, DatabaseProvider provider, string connectionString)
    {
        switch (provider)
        {
            case DatabaseProvider.PostgreSql:
                builder.UseNpgsql(connectionString, npgsql => npgsql.MigrationsHistoryTable("__ef_migrations_history"));
                break;
            default:
                builder.UseSqlite(connectionString);
                break;
        }

        return builder.UseSnakeCaseNamingConvention();
    }
}

/// <summary>What the process resolved from <see cref="DatabaseOptions"/>; read by health checks and the initializer.</summary>
public sealed record DatabaseSettings(DatabaseProvider Provider, string ConnectionString, bool MigrateAtStartup);
