using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Sagas.Persistence;

/// <summary>
/// Brings the schema up to date before anything else starts (hosted services start in registration order,
/// and this one is registered ahead of the bus). SQLite is created from the model; PostgreSQL is migrated.
/// </summary>
internal sealed class DatabaseInitializer(IServiceScopeFactory scopes, DatabaseSettings settings, ILogger<DatabaseInitializer> logger) : IHostedService
{
    // "SagasMig" in ASCII: apart from the data-protection key ring's lock.
    private const long AdvisoryLockKey = 0x5361_6761_734D_6967;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!settings.MigrateAtStartup)
            return;

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        if (settings.Provider == DatabaseProvider.Sqlite)
        {
            await db.Database.EnsureCreatedAsync(cancellationToken);
            logger.LogInformation("SQLite database ready at {DataSource}", db.Database.GetDbConnection().DataSource);
            return;
        }

        // The API and every worker start together on a new database (docker compose up). EF's own migration lock on
        // PostgreSQL does not keep two processes from applying the same migration (one then fails with "already
        // exists"), so the whole step runs under a session advisory lock: the next process finds nothing pending.
        await using var connection = new NpgsqlConnection(settings.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({AdvisoryLockKey})", connection))
            await take.ExecuteNonQueryAsync(cancellationToken);
        try
        {
            await CreateHistoryTableAsync(db, cancellationToken);
            var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
            await db.Database.MigrateAsync(cancellationToken);
            logger.LogInformation("PostgreSQL schema up to date ({Count} migration(s) applied)", pending.Count);
        }
        finally
        {
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({AdvisoryLockKey})", connection);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// EF reads the history table before creating it and logs the failed read of a fresh database as an error
    /// (dotnet/efcore#37328), which reads like a broken start. Creating it first (IF NOT EXISTS, as Migrate itself
    /// does before taking its lock) keeps first starts free of false errors.
    /// </summary>
    private static Task CreateHistoryTableAsync(SagasDbContext db, CancellationToken cancellationToken) =>
        db.GetService<IHistoryRepository>().CreateIfNotExistsAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
