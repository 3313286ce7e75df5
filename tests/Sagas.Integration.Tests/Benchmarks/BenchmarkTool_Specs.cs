using System.Diagnostics;
using System.Text;
using Sagas.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Sagas.Integration.Tests.Benchmarks;

/// <summary>
/// The benchmark tool's quick mode as a smoke test: every workload runs end to end on the real servers and its own
/// correctness checks (nothing lost, counts exact, no failed request) decide the exit code. Figures are printed,
/// never asserted.
/// </summary>
public sealed class When_every_benchmark_workload_runs_in_quick_mode(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(15);

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_finish_with_its_correctness_checks_holding()
    {
        var tool = LocateTool();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(tool)!,
        };
        start.ArgumentList.Add(tool);
        start.ArgumentList.Add("all");
        start.ArgumentList.Add("--quick");
        // The scan session runs on Amazon SQS too, through the fauxqs emulator; without node only RabbitMQ (never in CI).
        if (!TestServers.Required && !Storage.FauxqsEmulator.CanRun)
        {
            start.ArgumentList.Add("--transports");
            start.ArgumentList.Add("rabbitmq");
        }

        var log = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the quick benchmarks did not finish within {Limit.TotalMinutes} minutes:{Environment.NewLine}{Snapshot(log)}");
        }

        // Asynchronous output may still be in flight after exit; the parameterless wait drains it.
        process.WaitForExit();
        output.WriteLine(Snapshot(log));
        Assert.True(process.ExitCode == 0, $"benchmark tool exited {process.ExitCode}:{Environment.NewLine}{Snapshot(log)}");
        Assert.Contains("[api-latency] exit 0", Snapshot(log), StringComparison.Ordinal);
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is null)
            return;
        lock (log)
            log.AppendLine(line);
    }

    private static string Snapshot(StringBuilder log)
    {
        lock (log)
            return log.ToString();
    }

    private static string LocateTool()
    {
        // This assembly runs from tests/Sagas.Integration.Tests/bin/{configuration}/{tfm}/; the tool is built beside it.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (framework, configuration) = (output.Name, output.Parent!.Name);
        var root = output;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Sagas.sln")))
            root = root.Parent;
        Assert.NotNull(root);
        var tool = Path.Combine(root.FullName, "tests", "Sagas.Benchmarks", "bin", configuration, framework, "Sagas.Benchmarks.dll");
        Assert.True(File.Exists(tool), $"{tool} is missing: the test project's build should have built it.");
        return tool;
    }
}
