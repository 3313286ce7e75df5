using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using ClosedXML.Excel;
using Sagas.ScanSessions.Files;

namespace Sagas.ScanSessions.Sources;

/// <summary>
/// Reads a manifest (an .xlsx workbook or a .csv file) listing the files of a session: a file-name column and a
/// link/id column holding Google Drive ids, Drive links or plain http(s) URLs. The header row is found among the
/// first rows by its titles, whatever their case, spacing or punctuation; without one, the first column holding a
/// link is the link column. A row whose link is refused (not http(s), a file: path, credentials in it, a Drive folder)
/// is listed as a file with its error and its row number, so it is an Error row of the session; only a manifest
/// without any usable row, or over the row limit, is refused.
/// </summary>
public sealed partial class ManifestReader(ScanFilesOptions options)
{
    public const string EmptyManifest = "The manifest is empty.";
    public const string UnknownFormat = "The manifest must be an .xlsx workbook or a .csv file.";

    private const int HeaderSearchRows = 10;
    private const int MaxColumns = 64;

    private static readonly HashSet<string> NameHeaders = new(StringComparer.Ordinal)
    {
        "filename", "name", "file", "document", "documentname", "pdfname", "pdf", "drawing", "drawingname", "title",
    };

    private static readonly HashSet<string> LinkHeaders = new(StringComparer.Ordinal)
    {
        "link", "url", "fileid", "id", "driveid", "drivefileid", "googledriveid", "gdriveid", "drivelink", "googledrivelink",
        "gdrivelink", "driveurl", "googledriveurl", "drivelinkorid", "linkorid", "linkid", "idlink", "drivelinkid", "googledrivelinkid", "urlorid", "pdflink", "filelink", "fileurl", "pdfurl", "href", "webviewlink", "location",
    };

    public SourceListing Read(string fileName, ReadOnlyMemory<byte> content)
    {
        if (content.IsEmpty)
            return SourceListing.Failed(EmptyManifest);
        if (content.Length > options.MaxUploadBytes)
            return SourceListing.Failed(Invariant($"The manifest is larger than {options.MaxUploadBytes} bytes (ScanSessions:Files:MaxUploadBytes)."));

        return FileSniffer.Sniff(content.Span) switch
        {
            FileFormat.Zip => ReadWorkbook(content),
            FileFormat.PlainText => ReadCsv(content),
            FileFormat.EncryptedOffice => SourceListing.Failed("The manifest workbook is password-protected."),
            _ => SourceListing.Failed(UnknownFormat),
        };
    }

    /// <summary>True when the content is a workbook or text whose first rows carry a recognisable manifest header.</summary>
    public bool HasManifestHeader(ReadOnlyMemory<byte> content)
    {
        var format = FileSniffer.Sniff(content.Span);
        if (format == FileFormat.PlainText)
            return FindHeader(CsvRows(TextDecoding.Decode(content.Span, options.MaxTextCharacters, out _)).Take(HeaderSearchRows).ToList()) is not null;
        if (format != FileFormat.Zip || PreflightWorkbook(content) is not null)
            return false;

        try
        {
            using var stream = OfficeTextReader.AsStream(content);
            using var workbook = new XLWorkbook(stream);
            return workbook.Worksheets.Any(sheet => FindHeader(SheetRows(sheet).Take(HeaderSearchRows).ToList()) is not null);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            return false;
        }
    }

    private SourceListing ReadCsv(ReadOnlyMemory<byte> content)
    {
        var text = TextDecoding.Decode(content.Span, options.MaxTextCharacters, out var truncated);
        return truncated
            ? SourceListing.Failed(Invariant($"The manifest is longer than {options.MaxTextCharacters} characters (ScanSessions:Files:MaxTextCharacters)."))
            : FromRows(CsvRows(text));
    }

    private IEnumerable<ManifestRow> CsvRows(string text)
    {
        var number = 0;
        foreach (var record in CsvGrid.Read(text, options.MaxManifestRows + HeaderSearchRows + 1))
        {
            number++;
            yield return new ManifestRow(number, [.. record.Take(MaxColumns).Select(field => new ManifestCell(field.Trim(), null))]);
        }
    }

    private SourceListing ReadWorkbook(ReadOnlyMemory<byte> content)
    {
        if (PreflightWorkbook(content) is { } refused)
            return SourceListing.Failed(refused);

        try
        {
            using var stream = OfficeTextReader.AsStream(content);
            using var workbook = new XLWorkbook(stream);
            var sheet = workbook.Worksheets.FirstOrDefault(candidate => FindHeader(SheetRows(candidate).Take(HeaderSearchRows).ToList()) is not null)
                        ?? workbook.Worksheets.FirstOrDefault();
            return sheet is null ? SourceListing.Failed(EmptyManifest) : FromRows(SheetRows(sheet));
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            return SourceListing.Failed($"The manifest workbook could not be read: {FileErrors.Reason(exception)}");
        }
    }

    /// <summary>ClosedXML inflates every part into memory, so the package is checked for bombs before it gets the bytes.</summary>
    private string? PreflightWorkbook(ReadOnlyMemory<byte> content)
    {
        try
        {
            using var stream = OfficeTextReader.AsStream(content);
            using var zip = new ZipArchive(stream, ZipArchiveMode.Read);
            if (zip.GetEntry("xl/workbook.xml") is null)
                return UnknownFormat;

            foreach (var entry in zip.Entries)
            {
                if (ZipParts.Check(entry, options.MaxOfficePartBytes, options) is { } refused)
                    return $"The manifest workbook was refused: {refused.Message}";
            }

            return null;
        }
        catch (Exception exception) when (UploadSource.IsDamage(exception))
        {
            return $"The manifest workbook could not be read: {FileErrors.Reason(exception)}";
        }
    }

    private IEnumerable<ManifestRow> SheetRows(IXLWorksheet sheet)
    {
        var lastRow = sheet.LastRowUsed()?.RowNumber() ?? 0;
        var lastColumn = Math.Min(sheet.LastColumnUsed()?.ColumnNumber() ?? 0, MaxColumns);
        var rowLimit = Math.Min(lastRow, options.MaxManifestRows + HeaderSearchRows + 1);
        for (var row = 1; row <= rowLimit; row++)
        {
            var cells = new ManifestCell[lastColumn];
            for (var column = 1; column <= lastColumn; column++)
            {
                var cell = sheet.Cell(row, column);
                cells[column - 1] = new ManifestCell(CellText(cell).Trim(), CellLink(cell));
            }

            yield return new ManifestRow(row, cells);
        }
    }

    private SourceListing FromRows(IEnumerable<ManifestRow> rowSource)
    {
        var rows = rowSource.ToList();
        var header = FindHeader(rows.Take(HeaderSearchRows).ToList());
        int nameColumn, linkColumn, firstDataIndex;
        if (header is { } found)
        {
            (nameColumn, linkColumn) = (found.NameColumn, found.LinkColumn);
            firstDataIndex = rows.FindIndex(row => row.Number == found.RowNumber) + 1;
        }
        else
        {
            firstDataIndex = 0;
            (nameColumn, linkColumn) = GuessColumns(rows);
            if (linkColumn < 0 && nameColumn < 0)
                return SourceListing.Failed("The manifest has no header row with a file name and a link or Drive id column, and no row holding a link.");
        }

        var files = new List<FileReference>();
        var problems = new List<SourceProblem>();
        var names = new UniqueNames();
        var dataRows = 0;
        var usable = 0;
        for (var index = firstDataIndex; index < rows.Count; index++)
        {
            var row = rows[index];
            if (row.Cells.All(cell => cell.Text.Length == 0 && cell.Link is null))
                continue;

            if (++dataRows > options.MaxManifestRows)
                return SourceListing.Failed(Invariant($"The manifest has more than {options.MaxManifestRows} rows (ScanSessions:Files:MaxManifestRows)."));

            var nameCell = Cell(row, nameColumn);
            var linkCell = Cell(row, linkColumn);
            var linkText = linkCell?.Link ?? NonEmpty(linkCell?.Text) ?? nameCell?.Link;
            if (!FileLink.TryParse(linkText, out var kind, out var locator, out var error))
            {
                // A refused row is a file the user asked for: it is an Error row of the results and the report and counts
                // in the session's totals, never fetched (no locator), instead of vanishing from them.
                var problem = Invariant($"Row {row.Number}: {error}.");
                problems.Add(new SourceProblem(problem, row.Number));
                var shown = NonEmpty(nameCell?.Text) ?? Invariant($"row {row.Number}");
                files.Add(new FileReference(names.Claim(EntryPath.Printable(shown)), FileReferenceKind.Url, string.Empty, new FileError(FileErrorKind.Unavailable, problem)));
                continue;
            }

            usable++;
            var name = NonEmpty(nameCell?.Text) ?? FileLink.FallbackName(kind, locator);
            files.Add(new FileReference(names.Claim(EntryPath.Printable(name)), kind, locator));
        }

        if (usable > 0)
            return new SourceListing(files, problems);

        return problems.Count == 0
            ? SourceListing.Failed("The manifest lists no file: it has no data rows.")
            : SourceListing.Failed(Invariant($"The manifest lists no usable file. {problems[0].Message}"), problems);
    }

    private static (int NameColumn, int LinkColumn, int RowNumber)? FindHeader(IReadOnlyList<ManifestRow> rows)
    {
        foreach (var row in rows)
        {
            var nameColumn = -1;
            var linkColumn = -1;
            for (var column = 0; column < row.Cells.Count; column++)
            {
                var title = HeaderKey(row.Cells[column].Text);
                if (linkColumn < 0 && LinkHeaders.Contains(title))
                    linkColumn = column;
                else if (nameColumn < 0 && NameHeaders.Contains(title))
                    nameColumn = column;
            }

            if (linkColumn >= 0 || (nameColumn >= 0 && row.Cells.Count(cell => cell.Text.Length > 0) <= 2))
                return (nameColumn, linkColumn, row.Number);
        }

        return null;
    }

    /// <summary>Without a header: the first column of the first non-empty row that parses as a link is the link column.</summary>
    private static (int NameColumn, int LinkColumn) GuessColumns(IReadOnlyList<ManifestRow> rows)
    {
        foreach (var row in rows.Take(HeaderSearchRows))
        {
            for (var column = 0; column < row.Cells.Count; column++)
            {
                var cell = row.Cells[column];
                if (FileLink.TryParse(cell.Link ?? cell.Text, out _, out _, out _))
                {
                    var nameColumn = Enumerable.Range(0, row.Cells.Count).FirstOrDefault(other => other != column && row.Cells[other].Text.Length > 0, -1);
                    return (nameColumn, column);
                }
            }
        }

        return (-1, -1);
    }

    private static string HeaderKey(string title) => NotLetterOrDigit().Replace(title, string.Empty).ToLowerInvariant();

    private static ManifestCell? Cell(ManifestRow row, int column) => column >= 0 && column < row.Cells.Count ? row.Cells[column] : null;

    private static string? NonEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static string CellText(IXLCell cell)
    {
        // Never evaluate a user's formula: its cached result is what the user saw.
        if (cell.HasFormula)
            return Convert.ToString(cell.CachedValue, CultureInfo.InvariantCulture) ?? string.Empty;
        return cell.GetString();
    }

    private static string? CellLink(IXLCell cell)
    {
        if (cell.HasHyperlink && cell.Hyperlink.IsExternal && cell.Hyperlink.ExternalAddress is { } address)
            return address.OriginalString;

        if (cell.HasFormula)
        {
            var match = HyperlinkFormula().Match(cell.FormulaA1);
            if (match.Success)
                return match.Groups["url"].Value.Replace("\"\"", "\"", StringComparison.Ordinal);
        }

        return null;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex("[^\\p{L}\\p{Nd}]")]
    private static partial Regex NotLetterOrDigit();

    [GeneratedRegex("^=?\\s*HYPERLINK\\s*\\(\\s*\"(?<url>(?:[^\"]|\"\")*)\"", RegexOptions.IgnoreCase)]
    private static partial Regex HyperlinkFormula();

    private sealed record ManifestCell(string Text, string? Link);

    private sealed record ManifestRow(int Number, IReadOnlyList<ManifestCell> Cells);
}
