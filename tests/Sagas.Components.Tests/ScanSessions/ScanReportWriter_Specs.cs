using System.Globalization;
using System.IO.Compression;
using ClosedXML.Excel;
using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Reports;

namespace Sagas.Components.Tests.ScanSessions;

public class When_writing_the_scan_report
{
    private static readonly Guid SessionId = Guid.Parse("7b0f5d4e-4b8e-4a7c-9b8e-2f6f3c1d0a11");
    private static readonly DateTimeOffset Started = new(2026, 1, 20, 3, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Should_write_matches_files_and_summary()
    {
        var report = new ScanReport(
            SessionId,
            Started,
            Started.AddMinutes(5),
            ["HOLE-1", "HOLE-2", "HOLE-3"],
            [
                new ScanReportFile("b.pdf", "2 Codes", ["HOLE-1", "HOLE-2"], "https://drive.google.com/file/d/B/view", null),
                new ScanReportFile("a.pdf", "1 Code", ["HOLE-1"], "https://drive.google.com/file/d/A/view", null),
                new ScanReportFile("c.pdf", "No Code", [], null, null),
                new ScanReportFile("d.pdf", "Error", [], null, "The PDF is password-protected or encrypted."),
            ]);

        using var workbook = WriteAndOpen(report);

        Assert.Equal(["Matches", "Files", "Summary"], workbook.Worksheets.Select(sheet => sheet.Name));
        Assert.Equal(
            [
                ["Hole Code", "File Name", "Status", "Link"],
                ["HOLE-1", "b.pdf", "2 Codes", "https://drive.google.com/file/d/B/view"],
                ["HOLE-1", "a.pdf", "1 Code", "https://drive.google.com/file/d/A/view"],
                ["HOLE-2", "b.pdf", "2 Codes", "https://drive.google.com/file/d/B/view"],
            ],
            Rows(workbook.Worksheet("Matches"), 4));
        Assert.Equal(
            [
                ["File Name", "Status", "Matched Codes", "Link", "Error"],
                ["b.pdf", "2 Codes", "HOLE-1; HOLE-2", "https://drive.google.com/file/d/B/view", ""],
                ["a.pdf", "1 Code", "HOLE-1", "https://drive.google.com/file/d/A/view", ""],
                ["c.pdf", "No Code", "", "", ""],
                ["d.pdf", "Error", "", "", "The PDF is password-protected or encrypted."],
            ],
            Rows(workbook.Worksheet("Files"), 5));

        var summary = Summary(workbook);
        Assert.Equal(SessionId.ToString(), summary["Session"].GetString());
        Assert.Equal(Started.UtcDateTime, summary["Started (UTC)"].GetDateTime());
        Assert.Equal(Started.AddMinutes(5).UtcDateTime, summary["Completed (UTC)"].GetDateTime());
        Assert.Equal(4, summary["Files"].GetValue<int>());
        Assert.Equal(4, summary["Files processed"].GetValue<int>());
        Assert.Equal(2, summary["Files with matches"].GetValue<int>());
        Assert.Equal(3, summary["Total matches"].GetValue<int>());
        Assert.Equal(1, summary["Files with errors"].GetValue<int>());
        Assert.Equal(3, summary["Codes searched"].GetValue<int>());
        Assert.Equal(2, summary["Codes found"].GetValue<int>());
        Assert.Equal(1, summary["Codes not found"].GetValue<int>());
        var sheet = workbook.Worksheet("Summary");
        var listHeader = sheet.Column(1).CellsUsed().Single(cell => cell.GetString() == "Codes not found" && cell.Address.RowNumber > 11);
        Assert.Equal("HOLE-3", sheet.Cell(listHeader.Address.RowNumber + 1, 1).GetString());
    }

    [Fact]
    public void Should_set_column_widths_itself_and_link_only_web_addresses()
    {
        var report = new ScanReport(
            SessionId,
            Started,
            null,
            ["HOLE-1"],
            [
                new ScanReportFile("web.pdf", "1 Code", ["HOLE-1"], "https://example.com/web.pdf", null),
                new ScanReportFile("script.pdf", "1 Code", ["HOLE-1"], "javascript:alert(1)", null),
                new ScanReportFile("local.pdf", "1 Code", ["HOLE-1"], "file:///etc/passwd", null),
            ]);

        using var workbook = WriteAndOpen(report);

        var files = workbook.Worksheet("Files");
        Assert.Equal(50, files.Column(1).Width);
        Assert.Equal(70, files.Column(5).Width);
        Assert.True(files.Cell(2, 4).HasHyperlink);
        Assert.False(files.Cell(3, 4).HasHyperlink);
        Assert.False(files.Cell(4, 4).HasHyperlink);
        Assert.Equal("javascript:alert(1)", files.Cell(3, 4).GetString());
        Assert.True(Summary(workbook)["Completed (UTC)"].IsEmpty());
    }

    public static TheoryData<string> HostileTexts => new()
    {
        "=1+1",
        "=HYPERLINK(\"https://evil.example/x\",\"click\")",
        "=cmd|' /C calc'!A0",
        "+SUM(A1:A9)",
        "-2+3",
        "-5",
        "@SUM(1,2)",
        "\t=1+1",
        "'=quoted",
        "2026-01-20",
        "TRUE",
        "0012",
        "1E5",
    };

    [Theory]
    [MemberData(nameof(HostileTexts))]
    public void Should_store_text_that_looks_like_a_formula_or_value_as_plain_text(string text)
    {
        var report = new ScanReport(
            SessionId,
            Started,
            Started,
            [text],
            [new ScanReportFile(text, "1 Code", [text], text, text)]);

        using var stream = new MemoryStream();
        new ScanReportWriter().Write(report, stream);
        stream.Position = 0;
        using var workbook = new XLWorkbook(stream);

        Assert.All(workbook.Worksheets.SelectMany(sheet => sheet.CellsUsed()), cell => Assert.False(cell.HasFormula, cell.Address.ToString()));
        var files = workbook.Worksheet("Files");
        foreach (var column in new[] { 1, 3, 4, 5 })
        {
            var cell = files.Cell(2, column);
            Assert.Equal(XLDataType.Text, cell.DataType);
            Assert.Equal(text, cell.GetString());
        }

        var matches = workbook.Worksheet("Matches");
        Assert.Equal(text, matches.Cell(2, 1).GetString());
        Assert.Equal(text, matches.Cell(2, 2).GetString());
        Assert.DoesNotContain(WorksheetXml(stream), xml => xml.Contains("<x:f", StringComparison.Ordinal) || xml.Contains("<f>", StringComparison.Ordinal));
        if (text[0] is '=' or '+' or '-' or '@' or '\t' or '\'')
            Assert.True(files.Cell(2, 1).Style.IncludeQuotePrefix);
    }

    [Fact]
    public void Should_turn_a_leading_carriage_return_into_a_line_feed_and_keep_it_text()
    {
        var report = new ScanReport(SessionId, Started, Started, ["X"], [new ScanReportFile("\r=1+1", "No Code", [], null, "a\r\nb\rc")]);

        using var workbook = WriteAndOpen(report);

        var files = workbook.Worksheet("Files");
        Assert.False(files.Cell(2, 1).HasFormula);
        Assert.Equal("\n=1+1", files.Cell(2, 1).GetString());
        Assert.True(files.Cell(2, 1).Style.IncludeQuotePrefix);
        Assert.Equal("a\nb\nc", files.Cell(2, 5).GetString());
    }

    [Fact]
    public void Should_survive_characters_xml_cannot_carry_and_overlong_text()
    {
        var report = new ScanReport(
            SessionId,
            Started,
            Started,
            ["X"],
            [new ScanReportFile("bell\u0007 nul\0 lone\uD800 surrogate.pdf", "Error", [], null, new string('e', 40_000))]);

        using var workbook = WriteAndOpen(report);

        var files = workbook.Worksheet("Files");
        Assert.Contains("lone\uFFFD surrogate.pdf", files.Cell(2, 1).GetString(), StringComparison.Ordinal);
        var error = files.Cell(2, 5).GetString();
        Assert.True(error.Length <= 32_767);
        Assert.EndsWith("…", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_write_ten_thousand_files()
    {
        var codes = Enumerable.Range(1, 500).Select(n => string.Create(CultureInfo.InvariantCulture, $"HOLE-{n}")).ToList();
        var files = Enumerable.Range(1, 10_000)
            .Select(n =>
            {
                var matched = n % 3 == 0 ? new[] { codes[n % codes.Count] } : [];
                return new ScanReportFile(
                    string.Create(CultureInfo.InvariantCulture, $"drawing_{n}.pdf"),
                    ScanStatus.ForMatchCount(matched.Length),
                    matched,
                    string.Create(CultureInfo.InvariantCulture, $"https://drive.google.com/file/d/id{n}/view"),
                    null);
            })
            .ToList();
        var report = new ScanReport(SessionId, Started, Started.AddHours(1), codes, files);

        using var workbook = WriteAndOpen(report);

        Assert.Equal(10_001, workbook.Worksheet("Files").LastRowUsed().RowNumber());
        Assert.Equal(3_334, workbook.Worksheet("Matches").LastRowUsed().RowNumber());
        Assert.Equal("drawing_10000.pdf", workbook.Worksheet("Files").Cell(10_001, 1).GetString());
        Assert.Equal(3_333, Summary(workbook)["Total matches"].GetValue<int>());
    }

    [Fact]
    public void Should_keep_links_as_text_on_sheets_over_the_hyperlink_limit()
    {
        var files = Enumerable.Range(1, 3)
            .Select(n => new ScanReportFile($"f{n}.pdf", n == 1 ? "1 Code" : "No Code", n == 1 ? ["HOLE-1"] : [], $"https://example.com/{n}", null))
            .ToList();
        var report = new ScanReport(SessionId, Started, Started, ["HOLE-1"], files);

        using var workbook = WriteAndOpen(report, new ScanReportWriter(hyperlinkRowLimit: 2));

        Assert.True(workbook.Worksheet("Matches").Cell(2, 4).HasHyperlink);
        Assert.False(workbook.Worksheet("Files").Cell(2, 4).HasHyperlink);
        Assert.Equal("https://example.com/1", workbook.Worksheet("Files").Cell(2, 4).GetString());
    }

    private static XLWorkbook WriteAndOpen(ScanReport report, ScanReportWriter? writer = null)
    {
        var stream = new MemoryStream();
        (writer ?? new ScanReportWriter()).Write(report, stream);
        stream.Position = 0;
        return new XLWorkbook(stream);
    }

    private static List<string[]> Rows(IXLWorksheet sheet, int columns) =>
        [.. Enumerable.Range(1, sheet.LastRowUsed().RowNumber())
            .Select(row => Enumerable.Range(1, columns).Select(column => sheet.Cell(row, column).GetString()).ToArray())];

    private static Dictionary<string, IXLCell> Summary(XLWorkbook workbook)
    {
        var sheet = workbook.Worksheet("Summary");
        return Enumerable.Range(1, 11).ToDictionary(row => sheet.Cell(row, 1).GetString(), row => sheet.Cell(row, 2));
    }

    private static List<string> WorksheetXml(MemoryStream workbook)
    {
        workbook.Position = 0;
        using var zip = new ZipArchive(workbook, ZipArchiveMode.Read, leaveOpen: true);
        return [.. zip.Entries
            .Where(entry => entry.FullName.StartsWith("xl/worksheets/", StringComparison.Ordinal))
            .Select(entry =>
            {
                using var reader = new StreamReader(entry.Open());
                return reader.ReadToEnd();
            })];
    }
}
