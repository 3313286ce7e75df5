using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Sagas.Benchmarks.Compare;

/// <summary>One number a workload printed: a table cell named by its table, row and column.</summary>
internal sealed record ResultFigure(string Name, double Value);

/// <summary>
/// Reads the figures out of what a workload printed. Every workload already prints its results as markdown tables
/// (they go into docs/performance.md as they are), so comparing two builds needs no change to any workload, and a base
/// commit from before the compare mode existed can be measured too.
/// </summary>
internal static partial class ResultFigures
{
    /// <summary>
    /// Each cell that starts with a number becomes a figure named "heading › row › column": the heading is the last
    /// <c>#</c> line above the table, the row its first cell. Cells such as "11.98 s", "2,200 / 2,200, exact" or
    /// "4.52 → 6.92" give their first number; a row label that repeats within a table is numbered so no figure hides
    /// another.
    /// </summary>
    public static IReadOnlyList<ResultFigure> Read(string output)
    {
        var figures = new List<ResultFigure>();
        var heading = "";
        string[]? columns = null;
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('#'))
            {
                heading = line.TrimStart('#').Trim();
                columns = null;
                continue;
            }

            if (!line.StartsWith('|'))
            {
                columns = null;
                continue;
            }

            var cells = Cells(line);
            if (columns is null)
            {
                columns = cells;
                seen.Clear();
                continue;
            }

            if (cells.All(cell => Separator().IsMatch(cell)))
                continue;

            var row = cells.Length > 0 ? cells[0] : "";
            var count = seen[row] = seen.GetValueOrDefault(row) + 1;
            if (count > 1)
                row = $"{row} ({count})";
            for (var i = 1; i < cells.Length && i < columns.Length; i++)
            {
                if (FirstNumber(cells[i]) is { } value)
                    figures.Add(new ResultFigure(Name(heading, row, columns[i]), value));
            }
        }

        return figures;
    }

    /// <summary>The number a cell starts with (thousands separators allowed), or null for text, "—" and empty cells.</summary>
    public static double? FirstNumber(string cell)
    {
        var match = LeadingNumber().Match(cell.Trim().TrimStart('*'));
        return match.Success && double.TryParse(match.Value.Replace(",", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;
    }

    private static string Name(string heading, string row, string column)
    {
        var name = new StringBuilder();
        if (heading.Length > 0)
            name.Append(heading).Append(" › ");
        return name.Append(row).Append(" › ").Append(column).ToString();
    }

    private static string[] Cells(string line) =>
        line.Trim('|').Split('|').Select(cell => cell.Trim()).ToArray();

    [GeneratedRegex(@"^:?-{3,}:?$")]
    private static partial Regex Separator();

    [GeneratedRegex(@"^[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")]
    private static partial Regex LeadingNumber();
}
