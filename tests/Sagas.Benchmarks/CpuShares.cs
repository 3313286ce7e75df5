using System.Globalization;

namespace Sagas.Benchmarks;

/// <summary>
/// CPU seconds spent by groups of processes between two readings of /proc (Linux only; empty elsewhere): which of the
/// run's processes (ours, PostgreSQL, the broker) the wall time went to, and whether the machine was saturated.
/// </summary>
internal sealed class CpuShares
{
    private const double TicksPerSecond = 100; // USER_HZ on every Linux this runs on
    private readonly IReadOnlyList<(string Label, Func<int, string, bool> Member)> _groups;
    private readonly Dictionary<string, double> _start;
    private readonly double _machineStart;
    private readonly DateTime _wallStart = DateTime.UtcNow;

    /// <param name="groups">A label and a test on (pid, command name) per group; a process counts in the first group it matches.</param>
    public CpuShares(IReadOnlyList<(string Label, Func<int, string, bool> Member)> groups)
    {
        _groups = groups;
        _start = Read();
        _machineStart = MachineBusySeconds();
    }

    /// <summary>"label 1.2 s, …; machine busy 3.4 s of 4.0 s available", for the interval since construction.</summary>
    public string Since()
    {
        var now = Read();
        var wall = (DateTime.UtcNow - _wallStart).TotalSeconds;
        var parts = _groups.Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Label} {now.GetValueOrDefault(g.Label) - _start.GetValueOrDefault(g.Label):N2} s"));
        var busy = MachineBusySeconds() - _machineStart;
        return string.Create(CultureInfo.InvariantCulture, $"{string.Join(", ", parts)}; machine busy {busy:N2} s of {wall * Environment.ProcessorCount:N2} s available");
    }

    // A process that ended between the readings loses its CPU from the later one; the groups here live through the run.
    private Dictionary<string, double> Read()
    {
        var totals = new Dictionary<string, double>();
        if (!Directory.Exists("/proc"))
            return totals;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
                continue;
            try
            {
                var (name, seconds) = Stat(Path.Combine(directory, "stat"));
                foreach (var (label, member) in _groups)
                {
                    if (!member(pid, name))
                        continue;
                    totals[label] = totals.GetValueOrDefault(label) + seconds;
                    break;
                }
            }
            catch (IOException)
            {
                // The process ended while being read.
            }
        }

        return totals;
    }

    /// <summary>CPU seconds of compiling, summed over a warm-up session's processes, below which they count as warm.</summary>
    public const double QuietCompileSeconds = 0.1;

    /// <summary>The runtime's tiered-compilation thread as /proc names it (15 characters).</summary>
    private const string CompilerThread = ".NET Tiered Com";

    /// <summary>CPU seconds the processes' tiered-compilation threads have used so far: how much the hosts still compile.</summary>
    public static double CompilingSeconds(IEnumerable<int> processIds) => processIds.Sum(pid => ThreadSeconds(pid, CompilerThread));

    /// <summary>
    /// CPU seconds of a process's threads whose name starts with <paramref name="threadPrefix"/>, e.g. ".NET Tiered Com"
    /// (the runtime's tiered-compilation thread): how much a host still compiles.
    /// </summary>
    public static double ThreadSeconds(int pid, string threadPrefix)
    {
        var tasks = $"/proc/{pid}/task";
        if (!Directory.Exists(tasks))
            return 0;
        var total = 0.0;
        foreach (var task in Directory.EnumerateDirectories(tasks))
        {
            try
            {
                var (name, seconds) = Stat(Path.Combine(task, "stat"));
                if (name.StartsWith(threadPrefix, StringComparison.Ordinal))
                    total += seconds;
            }
            catch (IOException)
            {
                // The thread ended while being read.
            }
        }

        return total;
    }

    /// <summary>A process's or thread's name and its user + system CPU seconds, from its stat file.</summary>
    private static (string Name, double Seconds) Stat(string path)
    {
        var stat = File.ReadAllText(path);
        var open = stat.IndexOf('(', StringComparison.Ordinal);
        var close = stat.LastIndexOf(')');
        var fields = stat[(close + 2)..].Split(' ');
        // After the name: state is field 0, utime 11, stime 12 (man proc, fields 14 and 15).
        return (stat[(open + 1)..close], (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond);
    }

    private static double MachineBusySeconds()
    {
        if (!File.Exists("/proc/stat"))
            return 0;
        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
        return (cpu.Take(8).Sum() - cpu[3] - cpu[4]) / TicksPerSecond;
    }
}
