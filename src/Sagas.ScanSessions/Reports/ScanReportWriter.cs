using System.Globalization;
using System.Text;
using ClosedXML.Excel;
using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Ocr;

namespace Sagas.ScanSessions.Reports;

/// <summary>One file's result row as the report shows it.</summary>
/// <param name="OcrMatches">The codes found only by OCR, with their confidence (0 to 1).</param>
public sealed record ScanReportFile(string FileName, string Status, IReadOnlyList<string> MatchedCodes, string? Link, string? Error, IReadOnlyList<OcrCodeMatch>? OcrMatches = null)
{
    internal double? OcrConfidence(string code) => OcrMatches?.FirstOrDefault(m => m.Code == code)?.Confidence;
}

/// <summary>Everything the workbook shows. <see cref="TotalFiles"/> may exceed the rows when a session was cancelled.</summary>
public sealed record ScanReport(
    Guid SessionId,
    DateTimeOffset StartedAt,
    DateTimeOffset? CompletedAt,
    IReadOnlyList<string> TargetCodes,
    IReadOnlyList<ScanReportFile> Files,
    int? TotalFiles = null);

/// <summary>
/// Writes the session workbook: <c>Matches</c> (one row per code found in a file), <c>Files</c> (every file with
/// status, codes, link and error) and <c>Summary</c> (totals and the codes never found).
/// Every text cell is stored as a string, never parsed: a file name or extracted text such as <c>=HYPERLINK(…)</c>
/// or <c>-1+2</c> stays inert text, and leading <c>= + - @</c>, tab or line break also get Excel's quote prefix
/// so that editing the cell does not turn it into a formula either.
/// </summary>
/// <remarks>
/// Links are clickable hyperlinks only on sheets with at most <c>hyperlinkRowLimit</c> rows: ClosedXML 0.95 spends
/// about 0.3 ms of CPU per hyperlink, which would dominate a 10,000-file report. Larger sheets carry the link as text.
/// </remarks>
public sealed class ScanReportWriter(int hyperlinkRowLimit = ScanReportWriter.DefaultHyperlinkRowLimit)
{
    public const int DefaultHyperlinkRowLimit = 2_000;

    public const string MatchesSheet = "Matches";
    public const string FilesSheet = "Files";
    public const string SummarySheet = "Summary";

    /// <summary>Excel refuses longer cell text.</summary>
    internal const int MaxCellText = 32_767;

    /// <summary>Excel ignores hyperlinks with longer targets.</summary>
    private const int MaxHyperlinkLength = 2_079;

    public void Write(ScanReport report, Stream output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);

        using var workbook = new XLWorkbook();
        WriteMatches(workbook.AddWorksheet(MatchesSheet), report, hyperlinkRowLimit);
        WriteFiles(workbook.AddWorksheet(FilesSheet), report, hyperlinkRowLimit);
        WriteSummary(workbook.AddWorksheet(SummarySheet), report);
        workbook.SaveAs(output);
    }

    private static void WriteMatches(IXLWorksheet sheet, ScanReport report, int hyperlinkRowLimit)
    {
        Header(sheet, ("Hole Code", 22), ("File Name", 50), ("Status", 12), ("Link", 60), ("OCR Confidence", 16));

        // Codes in target-list order, files in the order given; codes a caller did not list come last.
        var filesByCode = new Dictionary<string, List<ScanReportFile>>(StringComparer.Ordinal);
        var codeOrder = new List<string>();
        foreach (var code in report.TargetCodes)
        {
            if (filesByCode.TryAdd(code, []))
                codeOrder.Add(code);
        }

        foreach (var file in report.Files)
        {
            foreach (var code in file.MatchedCodes.Distinct(StringComparer.Ordinal))
            {
                if (!filesByCode.TryGetValue(code, out var files))
                {
                    filesByCode[code] = files = [];
                    codeOrder.Add(code);
                }

                files.Add(file);
            }
        }

        var withHyperlinks = codeOrder.Sum(code => filesByCode[code].Count) <= hyperlinkRowLimit;
        var row = 2;
        foreach (var code in codeOrder)
        {
            foreach (var file in filesByCode[code])
            {
                Text(sheet.Cell(row, 1), code);
                Text(sheet.Cell(row, 2), file.FileName);
                Text(sheet.Cell(row, 3), file.Status);
                Link(sheet.Cell(row, 4), file.Link, withHyperlinks);
                if (file.OcrConfidence(code) is { } confidence)
                    sheet.Cell(row, 5).Value = confidence;
                row++;
            }
        }

        Finish(sheet, row - 1, 5);
    }

    private static void WriteFiles(IXLWorksheet sheet, ScanReport report, int hyperlinkRowLimit)
    {
        var withHyperlinks = report.Files.Count <= hyperlinkRowLimit;
        Header(sheet, ("File Name", 50), ("Status", 12), ("Matched Codes", 40), ("Link", 60), ("Error", 70), ("Found by OCR", 40));
        var row = 2;
        foreach (var file in report.Files)
        {
            Text(sheet.Cell(row, 1), file.FileName);
            Text(sheet.Cell(row, 2), file.Status);
            Text(sheet.Cell(row, 3), string.Join("; ", file.MatchedCodes));
            Link(sheet.Cell(row, 4), file.Link, withHyperlinks);
            Text(sheet.Cell(row, 5), file.Error);
            if (file.OcrMatches is { Count: > 0 } ocr)
                Text(sheet.Cell(row, 6), string.Join("; ", ocr.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Code} ({m.Confidence:0.00})"))));
            row++;
        }

        Finish(sheet, row - 1, 6);
    }

    private static void WriteSummary(IXLWorksheet sheet, ScanReport report)
    {
        var files = report.Files;
        var found = new HashSet<string>(files.SelectMany(file => file.MatchedCodes), StringComparer.Ordinal);
        var targets = report.TargetCodes.Distinct(StringComparer.Ordinal).ToList();
        var notFound = targets.Where(code => !found.Contains(code)).ToList();
        var errors = files.Count(file => file.Status == ScanStatus.Error || file.Error is not null);

        sheet.Column(1).Width = 28;
        sheet.Column(2).Width = 40;
        var rows = new (string Label, object? Value)[]
        {
            ("Session", report.SessionId.ToString()),
            ("Started (UTC)", report.StartedAt.UtcDateTime),
            ("Completed (UTC)", report.CompletedAt?.UtcDateTime),
            ("Files", report.TotalFiles ?? files.Count),
            ("Files processed", files.Count),
            ("Files with matches", files.Count(file => file.MatchedCodes.Count > 0)),
            ("Total matches", files.Sum(file => file.MatchedCodes.Count)),
            ("Files with errors", errors),
            ("Codes searched", targets.Count),
            ("Codes found", targets.Count - notFound.Count),
            ("Codes not found", notFound.Count),
        };

        var row = 1;
        foreach (var (label, value) in rows)
        {
            Text(sheet.Cell(row, 1), label).Style.Font.Bold = true;
            var cell = sheet.Cell(row, 2);
            switch (value)
            {
                case DateTime time:
                    cell.SetValue(time);
                    cell.Style.NumberFormat.Format = "yyyy-mm-dd hh:mm:ss";
                    cell.Style.Alignment.Horizontal = XLAlignmentHorizontalValues.Left;
                    break;
                case int number:
                    cell.SetValue(number);
                    cell.Style.Alignment.Horizontal = XLAlignmentHorizontalValues.Left;
                    break;
                case string text:
                    Text(cell, text);
                    break;
            }

            row++;
        }

        row++;
        Text(sheet.Cell(row, 1), "Codes not found").Style.Font.Bold = true;
        foreach (var code in notFound)
            Text(sheet.Cell(++row, 1), code);
    }

    private static void Header(IXLWorksheet sheet, params (string Title, double Width)[] columns)
    {
        for (var index = 0; index < columns.Length; index++)
        {
            Text(sheet.Cell(1, index + 1), columns[index].Title).Style.Font.Bold = true;
            sheet.Column(index + 1).Width = columns[index].Width;
        }

        sheet.SheetView.FreezeRows(1);
    }

    private static void Finish(IXLWorksheet sheet, int lastRow, int lastColumn) =>
        sheet.Range(1, 1, Math.Max(lastRow, 1), lastColumn).SetAutoFilter();

    private static IXLCell Text(IXLCell cell, string? value)
    {
        var text = SafeText(value);
        if (text.Length == 0)
            return cell;

        // SetValue<string> stores a shared string as it is; the quote prefix keeps Excel from re-parsing it on edit.
        cell.SetValue(text);
        if (text[0] is '=' or '+' or '-' or '@' or '\t' or '\n' or '\'')
            cell.Style.IncludeQuotePrefix = true;
        return cell;
    }

    private static void Link(IXLCell cell, string? link, bool asHyperlink)
    {
        Text(cell, link);
        if (asHyperlink
            && link is { Length: <= MaxHyperlinkLength }
            && Uri.TryCreate(link, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
        {
            cell.Hyperlink = new XLHyperlink(uri);
        }
    }

    /// <summary>
    /// What a cell can hold and XML can carry: lone surrogates become U+FFFD, line breaks become LF (the workbook's
    /// XML would turn a bare CR into LF anyway), and text longer than Excel's cell limit is cut with an ellipsis.
    /// </summary>
    internal static string SafeText(string? value)
    {
        if (string.IsNullOrEmpty(value))
            return string.Empty;

        var builder = new StringBuilder(Math.Min(value.Length, MaxCellText));
        var index = 0;
        for (; index < value.Length && builder.Length < MaxCellText - 2; index++)
        {
            var c = value[index];
            if (char.IsHighSurrogate(c) && index + 1 < value.Length && char.IsLowSurrogate(value[index + 1]))
                builder.Append(c).Append(value[++index]);
            else if (char.IsSurrogate(c))
                builder.Append('\uFFFD');
            else if (c == '\r')
            {
                builder.Append('\n');
                if (index + 1 < value.Length && value[index + 1] == '\n')
                    index++;
            }
            else
                builder.Append(c);
        }

        if (index < value.Length)
            builder.Append('…');
        return builder.ToString();
    }
}
