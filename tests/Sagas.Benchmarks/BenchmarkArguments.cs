using System.Globalization;

namespace Sagas.Benchmarks;

/// <summary>The workloads' options, read one way: a numeric value that is not a positive integer stops the run.</summary>
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

    /// <summary>A text option's value, or null when it is not given.</summary>
    public static string? Text(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        if (index < 0)
            return null;
        if (index + 1 < args.Length && !args[index + 1].StartsWith("--", StringComparison.Ordinal))
            return args[index + 1];
        throw new BenchmarkSetupException($"{name} needs a value.");
    }

    /// <summary>
    /// Configuration overrides given as <c>--set=Section:Key=value</c>, so that a setting can be measured without a
    /// build of its own.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string?>> Settings(string[] args) =>
        args.Where(a => a.StartsWith("--set=", StringComparison.Ordinal))
            .Select(a => a["--set=".Length..].Split('=', 2))
            .Select(pair => pair.Length == 2
                ? new KeyValuePair<string, string?>(pair[0], pair[1])
                : throw new BenchmarkSetupException($"--set={pair[0]} needs the form --set=Section:Key=value."));
}
