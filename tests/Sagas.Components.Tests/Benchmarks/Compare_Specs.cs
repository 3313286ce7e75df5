using Sagas.Benchmarks.Compare;

namespace Sagas.Components.Tests.Benchmarks;

public class When_the_compare_mode_reads_a_workloads_printed_tables
{
    private const string Printed = """
        # saga-throughput: 10,000 events into one instance per scenario
        machine: 2 cores, load average before: 1.20 0.90 0.50

        | scenario | send (events/s) | drain (events/s) | tally | lost | faulted |
        |---|---:|---:|---:|---:|---:|
        | in-memory repository (reference) | 9,512 | 4,100.5 | 10,000 | 0 | — |
        | EF Core pessimistic (FOR UPDATE) | 9,400 | 870 | 10,000 | 0 | n/a |

        ## scan session
        | | all text | 10 % scanned |
        |---|---:|---:|
        | wall time | 11.98 s | 475.80 s |
        | files / matches | 6,600 / 2,200, exact | 6,600 / 2,200, exact |
        | load average before → after | 4.52 → 6.92 | 1.96 → 3.92 |
        | wall time | 12.5 s | 480 s |
        load average after: 1.5 1.2 0.9
        """;

    [Fact]
    public void Should_name_each_number_by_its_heading_row_and_column()
    {
        var figures = ResultFigures.Read(Printed).ToDictionary(f => f.Name, f => f.Value);

        Assert.Equal(870, figures["saga-throughput: 10,000 events into one instance per scenario › EF Core pessimistic (FOR UPDATE) › drain (events/s)"]);
        Assert.Equal(4_100.5, figures["saga-throughput: 10,000 events into one instance per scenario › in-memory repository (reference) › drain (events/s)"]);
        Assert.Equal(475.80, figures["scan session › wall time › 10 % scanned"]);
        Assert.Equal(6_600, figures["scan session › files / matches › all text"]);
        Assert.Equal(4.52, figures["scan session › load average before → after › all text"]);
    }

    [Fact]
    public void Should_number_a_repeated_row_and_skip_cells_without_a_number()
    {
        var figures = ResultFigures.Read(Printed).ToDictionary(f => f.Name, f => f.Value);

        Assert.Equal(11.98, figures["scan session › wall time › all text"]);
        Assert.Equal(12.5, figures["scan session › wall time (2) › all text"]);
        Assert.DoesNotContain(figures.Keys, name => name.EndsWith("› faulted", StringComparison.Ordinal));
        Assert.Null(ResultFigures.FirstNumber("—"));
        Assert.Null(ResultFigures.FirstNumber("exact"));
        Assert.Equal(-3.5, ResultFigures.FirstNumber("-3.5 %"));
        Assert.Equal(1_234_567, ResultFigures.FirstNumber("**1,234,567** rows"));
    }

    [Fact]
    public void Should_compare_medians_and_say_when_the_ranges_overlap()
    {
        IReadOnlyList<ResultFigure> Run(double drain, double lost) => [new("t › r › drain", drain), new("t › r › lost", lost)];
        IReadOnlyList<IReadOnlyList<ResultFigure>> baseRuns = [Run(100, 0), Run(110, 0), Run(90, 0)];
        IReadOnlyList<IReadOnlyList<ResultFigure>> headRuns = [Run(200, 0), Run(210, 0), Run(190, 0)];

        var (compared, unmatched) = Comparison.Of(baseRuns, headRuns);

        var drain = Assert.Single(compared, f => f.Name == "t › r › drain");
        Assert.Equal(2.0, drain.Ratio);
        Assert.False(drain.WithinSpread);
        var lost = Assert.Single(compared, f => f.Name == "t › r › lost");
        Assert.Null(lost.Ratio);
        Assert.Empty(unmatched);
        var table = Comparison.Table(compared, "a1", "b2");
        Assert.StartsWith("t:", table, StringComparison.Ordinal);
        Assert.Contains("| r › drain | 100, 110, 90 | 200, 210, 190 | 2.000 |", table, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_leave_out_a_figure_that_one_build_did_not_print()
    {
        IReadOnlyList<IReadOnlyList<ResultFigure>> baseRuns = [[new("x", 1)], [new("x", 1.2)]];
        IReadOnlyList<IReadOnlyList<ResultFigure>> headRuns = [[new("x", 1.1), new("new column", 5)], [new("x", 1.0), new("new column", 6)]];

        var (compared, unmatched) = Comparison.Of(baseRuns, headRuns);

        var x = Assert.Single(compared);
        Assert.True(x.WithinSpread);
        Assert.Contains("(within spread)", Comparison.Table(compared, "a", "b"), StringComparison.Ordinal);
        Assert.Equal(new[] { "new column" }, unmatched);
    }
}
