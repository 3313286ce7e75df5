using Microsoft.EntityFrameworkCore;
using Npgsql;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Infrastructure;

/// <summary>A database of its own for one test class, created on the test server and dropped afterwards.</summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    private string? _adminConnectionString;

    public string Name { get; } = "sagas_test_" + Guid.NewGuid().ToString("N")[..12];

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _adminConnectionString = TestServers.Postgres;
        if (_adminConnectionString is null)
            return;

        await using (var connection = new NpgsqlConnection(_adminConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{Name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }

        ConnectionString = new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = Name, Pooling = true, MaxPoolSize = 100 }.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        if (_adminConnectionString is null)
            return;

        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }

    /// <summary>A fresh context on this database, the way each consumer gets one.</summary>
    public SagasDbContext NewContext()
    {
        var builder = new DbContextOptionsBuilder<SagasDbContext>();
        PersistenceRegistration.Configure(builder, DatabaseProvider.PostgreSql, ConnectionString, SagasWorkflows.Model);
        return new SagasDbContext(builder.Options);
    }

    public async Task<T> QueryAsync<T>(Func<SagasDbContext, Task<T>> query)
    {
        await using var db = NewContext();
        return await query(db);
    }

    /// <summary>Runs <paramref name="action"/> with a fresh context and an outbox on it, as a consumer would.</summary>
    public async Task<T> WithOutboxAsync<T>(Func<SagasDbContext, OutboxWriter, Task<T>> action)
    {
        await using var db = NewContext();
        using var signal = new OutboxSignal();
        return await action(db, new OutboxWriter(db, signal, new OutboxMessageTypes(SagasWorkflows.Catalog.Assemblies), TimeProvider.System));
    }
}
