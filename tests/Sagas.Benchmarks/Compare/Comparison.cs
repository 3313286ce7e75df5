using System.Globalization;
using System.Text;

namespace Sagas.Benchmarks.Compare;

/// <summary>One figure over the runs of both builds.</summary>
internal sealed record ComparedFigure(string Name, IReadOnlyList<double> Base, IReadOnlyList<double> Head)
{
    public double BaseMedian => Median(Base);

    public double HeadMedian => Median(Head);

    /// <summary>Head over base; null when the base median is zero (a count of errors, say).</summary>
    public double? Ratio => BaseMedian == 0 ? null : HeadMedian / BaseMedian;

    /// <summary>
    /// The two builds' ranges overlap: on this machine the difference is no larger than the run-to-run spread, so the
    /// ratio alone should not be read as a change.
    /// </summary>
    public bool WithinSpread => Base.Count > 0 && Head.Count > 0 && Head.Min() <= Base.Max() && Base.Min() <= Head.Max();

    private static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
            return double.NaN;
        var sorted = values.Order().ToList();
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}

/// <summary>The figures both builds printed in every run, side by side.</summary>
internal static class Comparison
{
    /// <summary>
    /// Only figures every run of both builds printed are compared: a figure one build lacks (a renamed column, a new
    /// scenario) has nothing to be compared with and is listed by name instead.
    /// </summary>
    public static (IReadOnlyList<ComparedFigure> Compared, IReadOnlyList<string> Unmatched) Of(
        IReadOnlyList<IReadOnlyList<ResultFigure>> baseRuns,
        IReadOnlyList<IReadOnlyList<ResultFigure>> headRuns)
    {
        var runs = baseRuns.Concat(headRuns).ToList();
        var names = runs.SelectMany(run => run.Select(figure => figure.Name)).Distinct(StringComparer.Ordinal).ToList();
        var compared = new List<ComparedFigure>();
        var unmatched = new List<string>();
        foreach (var name in names)
        {
            if (runs.All(run => run.Any(figure => figure.Name == name)))
            {
                compared.Add(new ComparedFigure(
                    name,
                    baseRuns.Select(run => run.First(figure => figure.Name == name).Value).ToList(),
                    headRuns.Select(run => run.First(figure => figure.Name == name).Value).ToList()));
            }
            else
            {
                unmatched.Add(name);
            }
        }

        return (compared, unmatched);
    }

    public static string Table(IReadOnlyList<ComparedFigure> figures, string baseLabel, string headLabel)
    {
        // A workload with one result heading would repeat it on every row: it is said once above the table instead.
        var headings = figures.Select(f => f.Name.Split(" › ")).Where(parts => parts.Length == 3).Select(parts => parts[0]).Distinct().ToList();
        var shared = headings.Count == 1 && figures.All(f => f.Name.Split(" › ").Length == 3) ? headings[0] + " › " : null;
        var table = new StringBuilder();
        if (shared is not null)
            table.AppendLine(CultureInfo.InvariantCulture, $"{shared[..^3]}:").AppendLine();
        table.AppendLine(CultureInfo.InvariantCulture, $"| figure | {baseLabel} (runs) | {headLabel} (runs) | {headLabel} / {baseLabel} (medians) |")
            .AppendLine("|---|---:|---:|---:|");
        foreach (var figure in figures)
        {
            var ratio = figure.Ratio is { } value
                ? string.Create(CultureInfo.InvariantCulture, $"{value:0.000}") + (figure.WithinSpread ? " (within spread)" : "")
                : "—";
            table.AppendLine(CultureInfo.InvariantCulture,
                $"| {(shared is null ? figure.Name : figure.Name[shared.Length..])} | {Values(figure.Base)} | {Values(figure.Head)} | {ratio} |");
        }

        return table.ToString();
    }

    private static string Values(IReadOnlyList<double> values) =>
        string.Join(", ", values.Select(value => value.ToString("0.###", CultureInfo.InvariantCulture)));
}
