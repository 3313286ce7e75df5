using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Sagas.Integration.Tests.Infrastructure;

namespace Sagas.Integration.Tests.Storage;

/// <summary>
/// One npm <c>fauxqs</c> S3/SQS/SNS emulator process on 127.0.0.1 and a free port, for the specs (through
/// <see cref="FauxqsEmulator"/>) and the benchmarks (this file is linked into tests/Sagas.Benchmarks).
/// The package is installed once into a cache folder (<c>SAGAS_FAUXQS_CACHE</c>, else <c>~/.cache/sagas-tests</c>) and
/// reused (<see cref="NpmPackages"/>). The server is a tiny node script that listens on loopback only and exits when
/// this process closes its stdin, so a crashed run leaves no server behind.
/// </summary>
public sealed class FauxqsServer : IAsyncDisposable
{
    /// <summary>
    /// 2.x needs node 22; this machine and CI have node 20. 1.9.2 also speaks every SQS/SNS action the transport uses
    /// (queue attributes and policies, DelaySeconds, long polling, batch delete, visibility changes, raw-delivery
    /// subscriptions, Publish), which the transport specs prove on it.
    /// </summary>
    public const string Version = "1.9.2";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private static readonly NpmPackages Packages =
        new(NpmPackages.DefaultCacheFolder("SAGAS_FAUXQS_CACHE", $"fauxqs-{Version}"), ("fauxqs", Version));

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

    /// <summary>Whether the emulator can be expected to start here: node, and either the cached package or npm to fetch it.</summary>
    public static bool CanRun => Packages.CanRun;

    /// <summary>Installs the package into the cache when it is not there yet, then starts a server.</summary>
    public static async Task<FauxqsServer> StartAsync()
    {
        await Packages.EnsureInstalledAsync();
        await Packages.WriteScriptAsync("start-fauxqs.mjs", StartScript);
        var start = new ProcessStartInfo(NpmPackages.Node!, "start-fauxqs.mjs")
        {
            WorkingDirectory = Packages.CacheFolder,
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
}
