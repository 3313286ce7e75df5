namespace Sagas.Benchmarks;

/// <summary>A measured scenario reachable as a subcommand.</summary>
internal interface IWorkload
{
    string Name { get; }

    string Description { get; }

    /// <returns>The process exit code: 0 when the run completed and its correctness checks held.</returns>
    Task<int> RunAsync(string[] args);
}

/// <summary>The benchmark cannot run here (a server is missing); the message says what to do.</summary>
internal sealed class BenchmarkSetupException(string message) : Exception(message);
