using System.Data.Common;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Sagas.Persistence.DataProtection;

/// <summary>
/// Makes sure the shared key ring holds a key in use before Data Protection loads it. Left to itself, each process
/// makes its own first key when it loads the ring from an empty table (at start) and caches its ring: two processes
/// starting together on a new database would each encrypt with a key the other does not know (a process looks again
/// for an unknown key only in its first two minutes). One key, made once under a database lock,
/// avoids that. Later keys are made by Data Protection itself, days before they are used, which every process sees in time.
/// </summary>
internal sealed class DataProtectionKeyRingInitializer(
    IKeyManager keys,
    IOptions<KeyManagementOptions> keyOptions,
    DatabaseSettings settings,
    TimeProvider clock,
    ILogger<DataProtectionKeyRingInitializer> logger) : IHostedService
{
    private const long AdvisoryLockKey = 0x5361_6761_7344_5031;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await EnsureKeyAsync(cancellationToken);
        }
        catch (DbException exception) when (!settings.MigrateAtStartup)
        {
            // Without the start-up schema step the schema is the operator's, and a process without it fails where it
            // first needs a table, not here (a host that never protects anything must still start).
            logger.LogWarning(
                "The data-protection key table could not be read ({Reason}); with Database:MigrateAtStartup=false the schema must be created beforehand. The first key will be made when one is first needed.",
                exception.Message);
        }
    }

    private async Task EnsureKeyAsync(CancellationToken cancellationToken)
    {
        if (HasKeyInUse())
            return;

        if (settings.Provider != DatabaseProvider.PostgreSql)
        {
            // SQLite is one process (the embedded default): nobody to race with.
            CreateKey();
            return;
        }

        await using var connection = new NpgsqlConnection(settings.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({AdvisoryLockKey})", connection))
            await take.ExecuteNonQueryAsync(cancellationToken);
        try
        {
            if (!HasKeyInUse())
                CreateKey();
        }
        finally
        {
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({AdvisoryLockKey})", connection);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private bool HasKeyInUse()
    {
        var now = clock.GetUtcNow();
        return keys.GetAllKeys().Any(key => !key.IsRevoked && key.ActivationDate <= now && key.ExpirationDate > now);
    }

    private void CreateKey()
    {
        var now = clock.GetUtcNow();
        var key = keys.CreateNewKey(now, now + keyOptions.Value.NewKeyLifetime);
        logger.LogInformation("Created data-protection key {KeyId}, in use until {Expiration:u}", key.KeyId, key.ExpirationDate);
    }
}
