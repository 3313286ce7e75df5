using Sagas.Benchmarks;
using Sagas.Benchmarks.LlmPolling;
using Sagas.Benchmarks.PromptAnalyses;
using Sagas.Benchmarks.SagaThroughput;

// One subcommand per workload; add new ones to this table.
IWorkload[] workloads = [new SagaThroughputWorkload(), new LlmPollingWorkload(), new PromptAnalysesWorkload()];

// The OpenAI stub of llm-polling runs as a child process of this executable, so its CPU is not counted as the worker's.
if (args is [OpenAiPollingStub.Subcommand, ..])
    return await OpenAiPollingStub.RunAsync(args[1..]);

// A worker process of the two-process cluster-limit spec (tests/Sagas.Integration.Tests/PromptAnalyses).
if (args is [PromptLimitProbe.Subcommand, ..])
    return await PromptLimitProbe.RunAsync(args[1..]);

if (args.Length == 0 || args[0] is "-h" or "--help" || workloads.All(w => w.Name != args[0]))
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project tests/Sagas.Benchmarks -- <workload> [options]");
    Console.Error.WriteLine();
    foreach (var workload in workloads)
        Console.Error.WriteLine($"  {workload.Name,-18} {workload.Description}");
    Console.Error.WriteLine();
    Console.Error.WriteLine($"Servers come from {BenchmarkServers.PostgresVariable} and {BenchmarkServers.RabbitMqVariable}, as for the integration tests.");
    return args.Length == 0 || args[0] is "-h" or "--help" ? 0 : 64;
}

try
{
    return await workloads.Single(w => w.Name == args[0]).RunAsync(args[1..]);
}
catch (BenchmarkSetupException exception)
{
    Console.Error.WriteLine(exception.Message);
    return 78;
}
