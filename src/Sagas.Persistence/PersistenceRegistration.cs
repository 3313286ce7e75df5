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

        services.AddSingleton(new DatabaseSettings(provider, connectionString, options.MigrateAtStartup, options.ParseSagaConcurrency()));
        services.AddDbContext<SagasDbContext>(builder => Configure(builder, provider, connectionString));
        services.AddHostedService<DatabaseInitializer>();
        services.AddScoped<FailedMessages.FailedMessageRecorder>();
        services.AddScoped<FailedMessages.FailedMessageRedeliverer>();
        return services;
    }

    /// <summary>
    /// The transactional outbox writer for consumers. The dispatcher that publishes what they wrote is added separately
    /// with <see cref="AddSagasOutboxDispatcher"/>, after the bus, so that it starts after the bus and stops before it.
    /// </summary>
    public static IServiceCollection AddSagasOutbox(this IServiceCollection services, IConfiguration configuration)
    {
        var options = new Outbox.OutboxOptions();
        configuration.GetSection(Outbox.OutboxOptions.SectionName).Bind(options);
        if (options.PollInterval <= TimeSpan.Zero || options.BatchSize < 1)
            throw new Core.Configuration.SagasConfigurationException("Outbox:PollInterval must be positive and Outbox:BatchSize at least 1.");
        services.AddSingleton(options);
        services.AddSingleton<Outbox.OutboxSignal>();
        services.AddScoped<Outbox.Outbox>();
        return services;
    }

    public static IServiceCollection AddSagasOutboxDispatcher(this IServiceCollection services) =>
        services.AddHostedService<Outbox.OutboxDispatcher>();

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
public sealed record DatabaseSettings(DatabaseProvider Provider, string ConnectionString, bool MigrateAtStartup, SagaRepository.SagaConcurrencyMode SagaConcurrency = SagaRepository.SagaConcurrencyMode.Pessimistic);
