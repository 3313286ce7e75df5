using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Persistence;

using Sagas.Workflows;

namespace Sagas.Integration.Tests.Persistence;

public sealed class When_a_process_starts_on_an_empty_database(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [ServerFact(postgres: true)]
    public async Task Should_apply_every_migration_without_logging_an_error()
    {
        var errors = new ErrorCollector();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = database.ConnectionString,
        });
        builder.Logging.ClearProviders().AddProvider(errors);
        builder.Services.AddSagasPersistence(builder.Configuration, builder.Environment.ContentRootPath, SagasWorkflows.Model);

        using (var host = builder.Build())
        {
            await host.StartAsync();
            await using (var scope = host.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
                Assert.Empty(await db.Database.GetPendingMigrationsAsync());
            }

            await host.StopAsync();
        }

        // EF reads the migration history before the table exists and logs that as a failed command; operators would
        // take it for a broken first start.
        Assert.Empty(errors.Messages);
    }

    private sealed class ErrorCollector : ILoggerProvider
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Collector(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Collector(ErrorCollector owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                    owner.Messages.Enqueue($"{category}: {formatter(state, exception)}");
            }
        }
    }
}

/// <summary>
/// <c>docker compose up</c> starts the API and every worker on a new database at the same moment: each runs the
/// start-up schema step. Every one must start, with the schema applied once.
/// </summary>
public sealed class When_several_processes_start_on_an_empty_database_at_once
{
    private const int Processes = 3;
    private const int Rounds = 4;

    [ServerFact(postgres: true)]
    public async Task Should_start_every_one_with_every_migration_applied()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var database = new PostgresDatabase();
            await database.InitializeAsync();
            try
            {
                var hosts = Enumerable.Range(0, Processes).Select(_ => Build(database.ConnectionString)).ToList();
                try
                {
                    var starts = hosts.Select(host => Task.Run(() => host.StartAsync())).ToList();
                    var failed = new List<string>();
                    foreach (var start in starts)
                    {
                        try
                        {
                            await start;
                        }
                        catch (Exception exception)
                        {
                            failed.Add(exception.GetType().Name + ": " + exception.Message.Split('\n')[0]);
                        }
                    }

                    Assert.True(failed.Count == 0, $"round {round + 1}: {failed.Count} of {Processes} processes failed to start: {string.Join(" | ", failed)}");
                    Assert.Empty(await database.QueryAsync(db => db.Database.GetPendingMigrationsAsync()));
                }
                finally
                {
                    foreach (var host in hosts)
                        host.Dispose();
                }
            }
            finally
            {
                await database.DisposeAsync();
            }
        }
    }

    private static IHost Build(string connectionString)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = connectionString,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSagasPersistence(builder.Configuration, builder.Environment.ContentRootPath, SagasWorkflows.Model);
        return builder.Build();
    }
}
