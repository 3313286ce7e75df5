using System.Diagnostics;
using Npgsql;

namespace Sagas.Benchmarks;

/// <summary>The same servers the integration tests use; each run works in its own database and virtual host.</summary>
internal static class BenchmarkServers
{
    public const string PostgresVariable = "SAGAS_TEST_POSTGRES";
    public const string RabbitMqVariable = "SAGAS_TEST_RABBITMQ";
    private const string RabbitMqCtlVariable = "SAGAS_TEST_RABBITMQ_CTL";

    public static string RequirePostgres() => Require(PostgresVariable, "an Npgsql connection string");

    public static Uri RequireRabbitMq() => new(Require(RabbitMqVariable, "an amqp:// URI"));

    /// <summary>Creates a throwaway database; dispose to drop it.</summary>
    public static async Task<ThrowawayDatabase> CreateDatabaseAsync()
    {
        var admin = RequirePostgres();
        var name = "sagas_bench_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name, Pooling = true, MaxPoolSize = 100 }.ConnectionString;
        return new ThrowawayDatabase(admin, name, connectionString);
    }

    /// <summary>
    /// A fresh virtual host when rabbitmqctl is at hand (tests/run-tests.sh's broker), else the configured one, where
    /// the run keeps to queue names of its own.
    /// </summary>
    public static async Task<ThrowawayVirtualHost> CreateVirtualHostAsync()
    {
        var address = RequireRabbitMq();
        if (Environment.GetEnvironmentVariable(RabbitMqCtlVariable) is not { Length: > 0 } ctl)
            return new ThrowawayVirtualHost(address, null, null);

        var name = "sagas-bench-" + Guid.NewGuid().ToString("N")[..12];
        var user = new UriBuilder(address).UserName is { Length: > 0 } configured ? Uri.UnescapeDataString(configured) : "guest";
        await RunAsync(ctl, "add_vhost", name);
        await RunAsync(ctl, "set_permissions", "-p", name, user, ".*", ".*", ".*");
        return new ThrowawayVirtualHost(new UriBuilder(address) { Path = "/" + name }.Uri, name, ctl);
    }

    internal static async Task RunAsync(string ctl, params string[] arguments)
    {
        var start = new ProcessStartInfo(ctl) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new BenchmarkSetupException($"could not start {ctl}");
        var error = await process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new BenchmarkSetupException($"rabbitmqctl {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}");
    }

    private static string Require(string variable, string what) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new BenchmarkSetupException(
                $"{variable} is not set: it must hold {what}. Start the throwaway servers the way tests/run-tests.sh does " +
                "(or point the variables at your own servers) and run the benchmark again.");
}

internal sealed class ThrowawayDatabase(string adminConnectionString, string name, string connectionString) : IAsyncDisposable
{
    public string ConnectionString { get; } = connectionString;

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}

internal sealed class ThrowawayVirtualHost(Uri address, string? createdName, string? ctl) : IAsyncDisposable
{
    public Uri Address { get; } = address;

    public async ValueTask DisposeAsync()
    {
        if (createdName is not null && ctl is not null)
            await BenchmarkServers.RunAsync(ctl, "delete_vhost", createdName);
    }
}
