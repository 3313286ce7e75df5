using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Sagas.Benchmarks;

/// <summary>
/// One of our hosts (API or worker) started from its build output as a separate OS process, so the load generator's
/// CPU is never counted as the server's and the server runs exactly as deployed.
/// </summary>
internal sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lastLines = [];

    private HostProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    /// <summary>
    /// Starts <c>src/{project}/bin/{configuration}/net10.0/{project}.dll</c> on a free loopback port, on the CPUs
    /// <paramref name="cpus"/> (a <c>taskset</c> list such as "0" or "0-1") when given, so that a run can show what a
    /// host does with cores of its own on a machine that also carries the servers.
    /// </summary>
    public static HostProcess Start(string project, IReadOnlyDictionary<string, string> settings, string? cpus = null)
    {
        var dll = LocateBuildOutput(project);
        var port = FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port}/");
        // taskset executes dotnet in its own process, so the process id (CPU time, peak RSS) stays the host's.
        var start = new ProcessStartInfo(cpus is null ? "dotnet" : "taskset")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        if (cpus is not null)
        {
            start.ArgumentList.Add("--cpu-list");
            start.ArgumentList.Add(cpus);
            start.ArgumentList.Add("dotnet");
        }

        start.ArgumentList.Add(dll);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        start.Environment["Urls"] = baseAddress.ToString().TrimEnd('/');
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in settings)
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;

        var process = Process.Start(start) ?? throw new BenchmarkSetupException($"could not start {dll}");
        var host = new HostProcess(process, baseAddress);
        process.OutputDataReceived += (_, e) => host.Remember(e.Data);
        process.ErrorDataReceived += (_, e) => host.Remember(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    public async Task WaitUntilReadyAsync(HttpClient client, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new BenchmarkSetupException($"{BaseAddress} exited with {_process.ExitCode}:{Environment.NewLine}{Tail()}");
            try
            {
                using var response = await client.GetAsync(new Uri(BaseAddress, "health/ready"));
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // The probe's own timeout: a host still starting on a loaded machine answers late.
            }

            await Task.Delay(200);
        }

        throw new BenchmarkSetupException($"{BaseAddress} was not ready within {limit.TotalSeconds:F0} s:{Environment.NewLine}{Tail()}");
    }

    /// <summary>Peak resident memory so far (VmHWM), in MiB; null off Linux.</summary>
    public double? PeakResidentMegabytes()
    {
        var status = $"/proc/{_process.Id}/status";
        if (!File.Exists(status))
            return null;
        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? null : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
    }

    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Remember(string? line)
    {
        if (line is null)
            return;
        lock (_lastLines)
        {
            _lastLines.Add(line);
            if (_lastLines.Count > 40)
                _lastLines.RemoveAt(0);
        }
    }

    private string Tail()
    {
        lock (_lastLines)
            return string.Join(Environment.NewLine, _lastLines);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string LocateBuildOutput(string project)
    {
        // The benchmark's own output is tests/Sagas.Benchmarks/bin/{configuration}/{tfm}/; the hosts are built beside it.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = output.Name;
        var configuration = output.Parent!.Name;
        var root = output;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Sagas.sln")))
            root = root.Parent;
        if (root is null)
            throw new BenchmarkSetupException($"Sagas.sln not found above {AppContext.BaseDirectory}.");
        var dll = Path.Combine(root.FullName, "src", project, "bin", configuration, framework, project + ".dll");
        return File.Exists(dll)
            ? dll
            : throw new BenchmarkSetupException($"{dll} is missing; build the solution in {configuration} first.");
    }
}
