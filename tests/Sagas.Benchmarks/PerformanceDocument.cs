using System.Globalization;
using System.Text;

namespace Sagas.Benchmarks;

/// <summary>
/// Writes a workload's printed results into docs/performance.md between its markers
/// (<c>&lt;!-- results:NAME --&gt;</c> … <c>&lt;!-- /results:NAME --&gt;</c>), so the page shows the latest full run while the
/// prose around it stays hand-written. A workload without markers gets a new section at the end.
/// </summary>
internal static partial class PerformanceDocument
{
    public static string Locate()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Sagas.sln")))
            directory = directory.Parent;
        return directory is null
            ? throw new BenchmarkSetupException($"Sagas.sln not found above {AppContext.BaseDirectory}; cannot write docs/performance.md.")
            : Path.Combine(directory.FullName, "docs", "performance.md");
    }

    /// <summary>
    /// Hosts run in this process log to the same console as the results (EF's migration probe, MassTransit warnings):
    /// the page keeps only what the workload printed.
    /// </summary>
    public static string WithoutLogLines(string output) =>
        string.Join('\n', output.Split('\n').Where(line => !LogLine().IsMatch(line)));

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{2}:\d{2}:\d{2}\.\d{3} (trce|dbug|info|warn|fail|crit): ")]
    private static partial System.Text.RegularExpressions.Regex LogLine();

    public static void Write(string path, string workload, string command, string output)
    {
        var begin = $"<!-- results:{workload} -->";
        var end = $"<!-- /results:{workload} -->";
        var block = new StringBuilder()
            .AppendLine(begin)
            .AppendLine(string.Create(CultureInfo.InvariantCulture, $"Latest full run, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, written by `{command}`:"))
            .AppendLine()
            .Append(WithoutLogLines(output).TrimEnd()).AppendLine()
            .Append(end)
            .ToString();

        var text = File.Exists(path) ? File.ReadAllText(path) : "# Performance\n";
        var start = text.IndexOf(begin, StringComparison.Ordinal);
        var stop = text.IndexOf(end, StringComparison.Ordinal);
        text = start >= 0 && stop > start
            ? string.Concat(text.AsSpan(0, start), block, text.AsSpan(stop + end.Length))
            : text.TrimEnd() + $"{Environment.NewLine}{Environment.NewLine}## {workload}{Environment.NewLine}{Environment.NewLine}{block}{Environment.NewLine}";
        File.WriteAllText(path, text);
    }
}

/// <summary>Console output that is also kept, so a run can be both watched and written to the docs.</summary>
internal sealed class TeeWriter(TextWriter console) : TextWriter
{
    private readonly StringBuilder _captured = new();

    public override Encoding Encoding => console.Encoding;

    public string Captured
    {
        get
        {
            lock (_captured)
                return _captured.ToString();
        }
    }

    public override void Write(char value)
    {
        lock (_captured)
            _captured.Append(value);
        console.Write(value);
    }

    public override void Write(string? value)
    {
        lock (_captured)
            _captured.Append(value);
        console.Write(value);
    }

    public override void WriteLine(string? value)
    {
        lock (_captured)
            _captured.AppendLine(value);
        console.WriteLine(value);
    }

    public override void Flush() => console.Flush();
}
