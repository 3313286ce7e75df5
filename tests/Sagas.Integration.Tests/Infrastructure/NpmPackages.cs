using System.Diagnostics;
using System.Text.Json;

namespace Sagas.Integration.Tests.Infrastructure;

/// <summary>
/// npm packages the specs run with node (the fauxqs emulator, the Kubernetes schema validators), installed once into
/// a cache folder and reused: by tests/run-tests.sh before any assembly starts, or by the first spec that needs them,
/// under a lock file so that parallel runs (other worktrees, other assemblies) never race on npm. Linked into
/// tests/Sagas.Benchmarks with <c>FauxqsServer</c>.
/// </summary>
public sealed class NpmPackages(string cacheFolder, params (string Name, string Version)[] packages)
{
    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(5);

    public string CacheFolder { get; } = cacheFolder;

    public static string? Node => FindOnPath("node");

    public static string? Npm => FindOnPath("npm");

    /// <summary>A folder under <c>~/.cache/sagas-tests</c>, unless <paramref name="environmentVariable"/> names another.</summary>
    public static string DefaultCacheFolder(string environmentVariable, string name) =>
        Environment.GetEnvironmentVariable(environmentVariable) is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "sagas-tests", name);

    /// <summary>Whether node can run them here: node, and either the cached packages or npm to fetch them.</summary>
    public bool CanRun => Node is not null && (IsInstalled() || Npm is not null);

    /// <summary>Installs the packages into the cache unless every one is there at its version.</summary>
    public async Task EnsureInstalledAsync()
    {
        if (IsInstalled())
            return;
        if (Node is null || Npm is null)
            throw new InvalidOperationException(
                $"{Describe()} cannot be installed here: node is {Node ?? "missing"}, npm is {Npm ?? "missing"}. Install node 20+ and npm.");

        Directory.CreateDirectory(Path.GetDirectoryName(CacheFolder)!);
        await using var installLock = await AcquireLockAsync(CacheFolder + ".lock");
        if (IsInstalled())
            return;

        var staging = $"{CacheFolder}.staging-{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging);
        await File.WriteAllTextAsync(Path.Combine(staging, "package.json"), """{ "name": "sagas-test-tools", "private": true, "type": "module" }""");
        var (exitCode, output, errors) = await RunAsync(Npm, ["install", .. packages.Select(p => $"{p.Name}@{p.Version}"), "--no-audit", "--no-fund", "--loglevel=error"], staging, InstallTimeout);
        if (exitCode != 0)
        {
            Directory.Delete(staging, recursive: true);
            throw new InvalidOperationException($"npm install of {Describe()} failed with exit code {exitCode}:\n{output}{errors}");
        }

        if (Directory.Exists(CacheFolder))
            Directory.Delete(CacheFolder, recursive: true);
        Directory.Move(staging, CacheFolder);
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="fileName"/> in the cache folder unless it is there already.</summary>
    public async Task<string> WriteScriptAsync(string fileName, string content)
    {
        var path = Path.Combine(CacheFolder, fileName);
        if (!File.Exists(path) || await File.ReadAllTextAsync(path) != content)
        {
            // Written aside and moved, so a concurrent reader never sees half a script.
            var temporary = $"{path}.{Guid.NewGuid():N}";
            await File.WriteAllTextAsync(temporary, content);
            File.Move(temporary, path, overwrite: true);
        }

        return path;
    }

    public bool IsInstalled() => packages.All(package =>
    {
        var manifest = Path.Combine(CacheFolder, "node_modules", package.Name, "package.json");
        if (!File.Exists(manifest))
            return false;
        using var document = JsonDocument.Parse(File.ReadAllText(manifest));
        return document.RootElement.TryGetProperty("version", out var version) && version.GetString() == package.Version;
    });

    /// <summary>Runs <paramref name="fileName"/>, feeding it <paramref name="input"/>; returns its exit code, stdout and stderr.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(
        string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout, string? input = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, await output, $"timed out after {timeout.TotalSeconds} s\n{await errors}");
        }

        return (process.ExitCode, await output, await errors);
    }

    public static string? FindOnPath(string program)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, program);
            if (File.Exists(candidate))
                return candidate;
        }

        return null;
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

    private string Describe() => string.Join(", ", packages.Select(p => $"{p.Name}@{p.Version}"));
}
