using System.Runtime.InteropServices;

namespace Sagas.Benchmarks;

/// <summary>The machine line printed above every result table, so a figure never travels without its context.</summary>
internal static class BenchmarkMachine
{
    public static string Describe()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        return $"machine: {Environment.ProcessorCount} cores ({cpu ?? "unknown cpu"}), {RuntimeInformation.OSDescription}, " +
               $".NET {Environment.Version}, load average before: {LoadAverage()}";
    }

    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
