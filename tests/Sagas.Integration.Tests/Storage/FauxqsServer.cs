using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Sagas.Integration.Tests.Storage;

/// <summary>
/// One npm <c>fauxqs</c> S3/SQS/SNS emulator process on 127.0.0.1 and a free port, for the specs (through
/// <see cref="FauxqsEmulator"/>) and the benchmarks (this file is linked into tests/Sagas.Benchmarks).
/// The package is installed once into a cache folder (<c>SAGAS_FAUXQS_CACHE</c>, else <c>~/.cache/sagas-tests</c>) and
/// reused; tests/run-tests.sh installs it there before any test assembly starts, so parallel assemblies never race on
/// npm. The server is a tiny node script that listens on loopback only and exits when this process closes its stdin,
/// so a crashed run leaves no server behind.
/// </summary>
public sealed class FauxqsServer : IAsyncDisposable
{
    /// <summary>
    /// 2.x needs node 22; this machine and CI have node 20. 1.9.2 also speaks every SQS/SNS action the transport uses
    /// (queue attributes and policies, DelaySeconds, long polling, batch delete, visibility changes, raw-delivery
    /// subscriptions, Publish), which the transport specs prove on it.
    /// </summary>
    public const string Version = "1.9.2";

    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private const string StartScript = """
        import { buildApp } from "fauxqs";
        const app = buildApp({ logger: false });
        const address = await app.listen({ host: "127.0.0.1", port: 0 });
        process.stdout.write(JSON.stringify({ address }) + "\n");
        const stop = () => app.close().finally(() => process.exit(0));
        process.stdin.on("end", stop);
        process.stdin.on("error", stop);
        process.on("SIGTERM", stop);
        process.stdin.resume();
        """;

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private FauxqsServer(Process process) => _process = process;

    public Uri ServiceUrl { get; private set; } = null!;

    public static string? Node => FindOnPath("node");

    public static string? Npm => FindOnPath("npm");

    public static string CacheFolder =>
        Environment.GetEnvironmentVariable("SAGAS_FAUXQS_CACHE") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "sagas-tests", $"fauxqs-{Version}");

    private static string PackageJson => Path.Combine(CacheFolder, "node_modules", "fauxqs", "package.json");

    /// <summary>Whether the emulator can be expected to start here: node, and either the cached package or npm to fetch it.</summary>
    public static bool CanRun => Node is not null && (File.Exists(PackageJson) || Npm is not null);

    /// <summary>Installs the package into the cache when it is not there yet, then starts a server.</summary>
    public static async Task<FauxqsServer> StartAsync()
    {
        var node = Node;
        if (node is null || (!File.Exists(PackageJson) && Npm is null))
            throw new InvalidOperationException($"The fauxqs emulator cannot run here: node is {node ?? "missing"}, npm is {Npm ?? "missing"}. Install node 20+ and npm.");
        await EnsureInstalledAsync();
        var start = new ProcessStartInfo(node, "start-fauxqs.mjs")
        {
            WorkingDirectory = CacheFolder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var server = new FauxqsServer(Process.Start(start) ?? throw new InvalidOperationException("node did not start."));
        try
        {
            server.ServiceUrl = await server.ReadAddressAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _process.WaitForExitAsync(timeout.Token);
            }
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static async Task EnsureInstalledAsync()
    {
        if (IsInstalled())
        {
            await WriteStartScriptAsync();
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(CacheFolder)!);
        // Parallel test runs (other worktrees, other assemblies) may install at once: one lock file serialises them.
        await using var installLock = await AcquireLockAsync(CacheFolder + ".lock");
        if (!IsInstalled())
        {
            var staging = $"{CacheFolder}.staging-{Guid.NewGuid():N}";
            Directory.CreateDirectory(staging);
            await File.WriteAllTextAsync(Path.Combine(staging, "package.json"), """{ "name": "sagas-fauxqs", "private": true, "type": "module" }""");
            var (exitCode, output) = await RunAsync(Npm!, ["install", $"fauxqs@{Version}", "--no-audit", "--no-fund", "--loglevel=error"], staging, InstallTimeout);
            if (exitCode != 0)
            {
                Directory.Delete(staging, recursive: true);
                throw new InvalidOperationException($"npm install fauxqs@{Version} failed with exit code {exitCode}:\n{output}");
            }

            if (Directory.Exists(CacheFolder))
                Directory.Delete(CacheFolder, recursive: true);
            Directory.Move(staging, CacheFolder);
        }

        await WriteStartScriptAsync();
    }

    private static bool IsInstalled()
    {
        if (!File.Exists(PackageJson))
            return false;
        using var document = JsonDocument.Parse(File.ReadAllText(PackageJson));
        return document.RootElement.TryGetProperty("version", out var version) && version.GetString() == Version;
    }

    private static async Task WriteStartScriptAsync()
    {
        var path = Path.Combine(CacheFolder, "start-fauxqs.mjs");
        if (!File.Exists(path) || await File.ReadAllTextAsync(path) != StartScript)
        {
            var temporary = $"{path}.{Guid.NewGuid():N}";
            await File.WriteAllTextAsync(temporary, StartScript);
            File.Move(temporary, path, overwrite: true);
        }
    }

    private async Task<Uri> ReadAddressAsync()
    {
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (_stderr)
                    _stderr.AppendLine(e.Data);
        };
        _process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(StartTimeout);
        string? line;
        try
        {
            line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            line = null;
        }

        if (line is null)
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            string errors;
            lock (_stderr)
                errors = _stderr.ToString();
            throw new InvalidOperationException($"The fauxqs emulator did not report its address within {StartTimeout.TotalSeconds} s. stderr:\n{errors}");
        }

        using var document = JsonDocument.Parse(line);
        return new Uri(document.RootElement.GetProperty("address").GetString()!);
    }

    private static async Task<FileStream> AcquireLockAsync(string path)
    {
        var deadline = DateTime.UtcNow + InstallTimeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
            }
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string fileName, string[] arguments, string workingDirectory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout.TotalMinutes} min");
        }

        return (process.ExitCode, await output + await errors);
    }

    private static string? FindOnPath(string program)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, program);
            if (File.Exists(candidate))
                return candidate;
        }

        return null;
    }
}
