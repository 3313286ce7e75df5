using Sagas.Benchmarks;
using Sagas.Benchmarks.ApiLatency;
using Sagas.Benchmarks.LlmPolling;
using Sagas.Benchmarks.PromptAnalyses;
using Sagas.Benchmarks.RunList;
using Sagas.Benchmarks.SagaThroughput;
using Sagas.Benchmarks.ScanSessions;

// One subcommand per workload; add new ones to this table.
IWorkload[] workloads = [new SagaThroughputWorkload(), new LlmPollingWorkload(), new ScanSessionWorkload(), new PromptAnalysesWorkload(), new ApiLatencyWorkload(), new Sagas.Benchmarks.Ocr.OcrAccuracyWorkload(), new RunListWorkload(), new Sagas.Benchmarks.Scheduling.SchedulerPrecisionWorkload(), new Sagas.Benchmarks.Breakers.BreakerWorkload(), new Sagas.Benchmarks.Realtime.RealtimeLatencyWorkload()];

// The OpenAI stub of llm-polling runs as a child process of this executable, so its CPU is not counted as the worker's.
if (args is [OpenAiPollingStub.Subcommand, ..])
    return await OpenAiPollingStub.RunAsync(args[1..]);

// A worker process of the two-process cluster-limit spec (tests/Sagas.Integration.Tests/PromptAnalyses).
if (args is [PromptLimitProbe.Subcommand, ..])
    return await PromptLimitProbe.RunAsync(args[1..]);

if (args is [Sagas.Benchmarks.Compare.CompareCommand.Name, ..])
{
    try
    {
        return await Sagas.Benchmarks.Compare.CompareCommand.RunAsync(args[1..], workloads);
    }
    catch (BenchmarkSetupException exception)
    {
        Console.Error.WriteLine(exception.Message);
        return 78;
    }
}

if (args.Length == 0 || args[0] is "-h" or "--help" || (args[0] != "all" && workloads.All(w => w.Name != args[0])))
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project tests/Sagas.Benchmarks -- <workload|all> [options] [--write-docs]");
    Console.Error.WriteLine();
    foreach (var workload in workloads)
        Console.Error.WriteLine($"  {workload.Name,-18} {workload.Description}");
    Console.Error.WriteLine($"  {"all",-18} every workload above in turn, with the options given (e.g. --quick: the smoke run of the test command).");
    Console.Error.WriteLine($"  {"compare W",-18} workload W on the previous commit's build and this one, alternating: compare W [--base REF] [--rounds N] [W's options]");
    Console.Error.WriteLine();
    Console.Error.WriteLine("--write-docs puts each workload's result tables into docs/performance.md between its markers (never with --quick).");
    Console.Error.WriteLine($"Servers come from {BenchmarkServers.PostgresVariable} and {BenchmarkServers.RabbitMqVariable}, as for the integration tests.");
    return args.Length == 0 || args[0] is "-h" or "--help" ? 0 : 64;
}

var options = args[1..];
var writeDocs = options.Contains("--write-docs");
if (writeDocs && options.Contains("--quick"))
{
    Console.Error.WriteLine("--write-docs records full runs only; drop --quick.");
    return 64;
}

var selected = args[0] == "all" ? workloads : [workloads.Single(w => w.Name == args[0])];
var exitCode = 0;
foreach (var workload in selected)
{
    var console = Console.Out;
    var tee = new TeeWriter(console);
    Console.SetOut(tee);
    int result;
    try
    {
        result = await workload.RunAsync(options.Where(o => o != "--write-docs").ToArray());
    }
    catch (BenchmarkSetupException exception)
    {
        Console.Error.WriteLine(exception.Message);
        return 78;
    }
    finally
    {
        Console.SetOut(console);
    }

    Console.Error.WriteLine($"[{workload.Name}] exit {result}");
    if (result == 0 && writeDocs)
    {
        var command = $"dotnet run -c Release --project tests/Sagas.Benchmarks -- {workload.Name} {string.Join(' ', options)}".TrimEnd();
        PerformanceDocument.Write(PerformanceDocument.Locate(), workload.Name, command, tee.Captured);
    }

    exitCode = exitCode == 0 ? result : exitCode;
}

return exitCode;
