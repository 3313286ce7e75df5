using System.Globalization;

namespace Sagas.Benchmarks;

/// <summary>The workloads' numeric options, read one way: a value that is not a positive integer stops the run.</summary>
internal static class BenchmarkArguments
{
    public static int Int(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        if (index < 0)
            return fallback;
        if (index + 1 < args.Length && int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var value) && value > 0)
            return value;
        throw new BenchmarkSetupException($"{name} needs a positive integer.");
    }
}
