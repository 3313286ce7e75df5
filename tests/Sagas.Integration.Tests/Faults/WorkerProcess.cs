using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace Sagas.Integration.Tests.Faults;

/// <summary>
/// The built Sagas.Worker host (src/Sagas.Worker, compiled by the test build through a non-referencing
/// ProjectReference), or the built Sagas.Api, running as an OS process of its own, configured through environment
/// variables only, as a container would run it. <see cref="Kill"/> is <c>kill -9</c>: no shutdown hook, no ack, no flush.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private const int KeptLines = 300;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly StreamWriter? _fullLog;
    private bool _fullLogClosed;

    private WorkerProcess(string name, Process process, Uri address)
    {
        Name = name;
        _process = process;
        Address = address;
        // The kept tail is too short for a fault that happened minutes before a wait timed out: the whole output goes
        // to a file when SAGAS_TEST_PROCESS_LOGS names a folder.
        if (Environment.GetEnvironmentVariable("SAGAS_TEST_PROCESS_LOGS") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            _fullLog = new StreamWriter(Path.Combine(folder, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{name}-{process.Id}.log")) { AutoFlush = true };
        }
    }

    public string Name { get; }

    public Uri Address { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote, for failure messages.</summary>
    public string Output => string.Join(Environment.NewLine, _output);

    public static string AssemblyPath { get; } = BuildOutput("SagasWorkerAssembly");

    public static string ApiAssemblyPath { get; } = BuildOutput("SagasApiAssembly");

    /// <summary>Starts the worker (or the host <paramref name="assembly"/> names) and returns once its bus and database report healthy.</summary>
    public static async Task<WorkerProcess> StartAsync(string name, IReadOnlyDictionary<string, string> settings, TimeSpan? timeout = null, string? assembly = null)
    {
        assembly = Path.GetFullPath(assembly ?? AssemblyPath);
        if (!File.Exists(assembly))
            throw new InvalidOperationException($"{assembly} is missing: build tests/Sagas.Integration.Tests (it builds src/Sagas.Worker and src/Sagas.Api) first.");

        var address = new Uri($"http://127.0.0.1:{DedicatedPostgres.FreePort()}");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(assembly);
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Urls"] = address.ToString();
        foreach (var (key, value) in settings)
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var worker = new WorkerProcess(name, process, address);
        process.OutputDataReceived += (_, line) => worker.Keep(line.Data);
        process.ErrorDataReceived += (_, line) => worker.Keep(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await worker.WaitUntilReadyAsync(timeout ?? TimeSpan.FromSeconds(90));
        }
        catch
        {
            worker.Kill();
            throw;
        }

        return worker;
    }

    private static string BuildOutput(string key) =>
        typeof(WorkerProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"The test assembly does not name a build output ({key}).");

    /// <summary>SIGKILL, as <c>kill -9</c>: in-flight messages stay unacknowledged until the broker sees the connection drop.</summary>
    public void Kill()
    {
        if (_process.HasExited)
            return;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        if (_fullLog is not null)
        {
            lock (_fullLog)
                _fullLogClosed = true;
            await _fullLog.DisposeAsync();
        }
    }

    /// <summary>
    /// The process's <c>sagas.prompt_analyses.platform_calls</c> counter per platform, from its Prometheus scrape
    /// (<c>sagas_prompt_analyses_platform_calls_total{platform="openai",...} 12</c>).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> PlatformCallsAsync()
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(10) };
        var scrape = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in scrape.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!line.StartsWith("sagas_prompt_analyses_platform_calls", StringComparison.Ordinal))
                continue;
            var labels = line[(line.IndexOf('{', StringComparison.Ordinal) + 1)..line.LastIndexOf('}')];
            var platform = labels.Split(',').Select(label => label.Split('=', 2)).Single(pair => pair[0] == "platform")[1].Trim('"');
            var value = line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0];
            calls[platform] = calls.GetValueOrDefault(platform) + (long)double.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        }

        return calls;
    }

    private void Keep(string? line)
    {
        if (line is null)
            return;
        _output.Enqueue(line);
        if (_fullLog is not null)
        {
            lock (_fullLog)
            {
                if (!_fullLogClosed)
                    _fullLog.WriteLine(line);
            }
        }

        while (_output.Count > KeptLines)
            _output.TryDequeue(out _);
    }

    /// <summary>
    /// Ready means bus and database healthy. The scheduler check is left out: a worker without the scheduler role is
    /// fine to start before (or without) a scheduler process.
    /// </summary>
    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"worker {Name} exited with {_process.ExitCode} while starting:{Environment.NewLine}{Output}");
            try
            {
                using var response = await http.GetAsync(new Uri("/health/ready", UriKind.Relative), deadline.Token);
                using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(deadline.Token));
                var checks = body.RootElement.GetProperty("checks").EnumerateObject().Where(check => check.Name != "scheduler").ToList();
                if (checks.Count > 0 && checks.All(check => check.Value.GetProperty("status").GetString() == "Healthy"))
                    return;
            }
            catch (Exception exception) when (exception is HttpRequestException or JsonException or KeyNotFoundException || (exception is TaskCanceledException && !deadline.IsCancellationRequested))
            {
                // Not listening yet, or not healthy yet.
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"worker {Name} was not ready within {timeout}:{Environment.NewLine}{Output}");
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"worker {Name} was not ready within {timeout}:{Environment.NewLine}{Output}");
            }
        }
    }
}
