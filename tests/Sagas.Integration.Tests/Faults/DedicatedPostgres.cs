using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Sagas.Integration.Tests.Faults;

/// <summary>
/// A PostgreSQL cluster of the fault specs' own (initdb in a temp folder, binaries from SAGAS_TEST_POSTGRES_BIN), so
/// restarting it never disturbs the shared throwaway server other test assemblies use at the same time.
/// </summary>
public sealed class DedicatedPostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _folder;

    private DedicatedPostgres(string bin, string folder, int port)
    {
        _bin = bin;
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    public string AdminConnectionString => $"Host=127.0.0.1;Port={Port};Username=sagas;Database=postgres;Pooling=false";

    private string DataFolder => Path.Combine(_folder, "data");

    public static async Task<DedicatedPostgres> StartAsync(string bin)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"sagas-faults-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(folder, "sock"));
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(folder, (UnixFileMode)0b111_111_111);
        var postgres = new DedicatedPostgres(bin, folder, FreePort());
        if (Environment.UserName == "root")
            await RunAsync("chown", "-R", "postgres:postgres", folder);
        await postgres.CtlAsync(Path.Combine(bin, "initdb"), "-D", postgres.DataFolder, "-U", "sagas", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8");
        await postgres.StartAsync();
        return postgres;
    }

    /// <summary>Starts the stopped server again on the same port and data folder.</summary>
    public Task StartAsync() =>
        // fsync off: a cluster that only has to survive process restarts, never power loss.
        CtlAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataFolder, "-l", Path.Combine(_folder, "server.log"), "-w", "-t", "60",
            "-o", $"-p {Port} -k {Path.Combine(_folder, "sock")} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300", "start");

    /// <summary>An outage: fast shutdown (open connections are cut), and every new connection is refused until <see cref="StartAsync"/>.</summary>
    public Task StopAsync() => CtlAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataFolder, "-m", "fast", "-w", "-t", "60", "stop");

    public async Task<string> CreateDatabaseAsync()
    {
        var name = "faults_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await create.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true, MaxPoolSize = 50 }.ConnectionString;
    }

    /// <summary>The restart operators do (fast shutdown: open connections are cut, then the server starts again).</summary>
    public Task RestartAsync() => CtlAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataFolder, "-m", "fast", "-w", "-t", "60", "restart");

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await CtlAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataFolder, "-m", "immediate", "-w", "stop");
        }
        catch (InvalidOperationException)
        {
            // Already stopped; the folder goes anyway.
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    private Task CtlAsync(string program, params string[] arguments) =>
        Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", program, .. arguments])
            : RunAsync(program, arguments);

    private static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error}{await output}");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
