using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Xml;

namespace Sagas.ScanSessions.Files;

/// <summary>
/// The cheap route through .docx and .xlsx: the text-bearing XML parts straight from the package, without an
/// object model. Any other ZIP is reported as a nested archive.
/// </summary>
internal static class OfficeTextReader
{
    private static readonly XmlReaderSettings XmlSettings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = false,
        CloseInput = true,
    };

    public static TextExtraction Extract(ReadOnlyMemory<byte> content, string extension, ScanFilesOptions options, CancellationToken cancellationToken)
    {
        var format = FormatFromExtension(extension);
        try
        {
            using var stream = AsStream(content);
            using var archive = new ZipArchive(stream, ZipArchiveMode.Read);
            var parts = new Dictionary<string, ZipArchiveEntry>(StringComparer.OrdinalIgnoreCase);
            foreach (var entry in archive.Entries)
                parts.TryAdd(entry.FullName, entry);

            if (parts.TryGetValue("word/document.xml", out var document))
            {
                format = FileFormat.Docx;
                var partNames = parts.Keys
                    .Where(name => name.StartsWith("word/", StringComparison.OrdinalIgnoreCase) && IsWordStoryPart(name[5..]))
                    .Order(StringComparer.OrdinalIgnoreCase);
                return ReadParts(format, [document, .. partNames.Select(name => parts[name])], ReadWordPart, options, cancellationToken);
            }

            if (parts.ContainsKey("xl/workbook.xml"))
            {
                format = FileFormat.Xlsx;
                var sheets = parts.Keys
                    .Where(name => name.StartsWith("xl/worksheets/", StringComparison.OrdinalIgnoreCase)
                                   && name.EndsWith(".xml", StringComparison.OrdinalIgnoreCase)
                                   && !name.Contains("/_rels/", StringComparison.OrdinalIgnoreCase))
                    .Order(StringComparer.OrdinalIgnoreCase)
                    .Select(name => parts[name]);
                List<ZipArchiveEntry> xlsxParts = parts.TryGetValue("xl/sharedStrings.xml", out var sharedStrings) ? [sharedStrings, .. sheets] : [.. sheets];
                return ReadParts(format, xlsxParts, ReadSpreadsheetPart, options, cancellationToken);
            }

            return format is FileFormat.Docx or FileFormat.Xlsx
                ? TextExtraction.Failure(format, FileErrorKind.Corrupt, FileErrors.NotWhatItsNameSays(extension, extension == ".docx" ? "a Word document" : "an Excel workbook"))
                : TextExtraction.Failure(FileFormat.Zip, FileErrorKind.Unsupported, parts.ContainsKey("[Content_Types].xml") ? FileErrors.Unsupported(extension) : FileErrors.NestedArchive);
        }
        catch (InvalidDataException exception)
        {
            return TextExtraction.Failure(format == FileFormat.Unknown ? FileFormat.Zip : format, FileErrorKind.Corrupt, FileErrors.Unreadable(Describe(format, extension), exception));
        }
    }

    private static TextExtraction ReadParts(
        FileFormat format,
        IEnumerable<ZipArchiveEntry> parts,
        Action<XmlReader, BoundedText> readPart,
        ScanFilesOptions options,
        CancellationToken cancellationToken)
    {
        var text = new BoundedText(options.MaxTextCharacters);
        foreach (var part in parts)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (ZipParts.Check(part, options.MaxOfficePartBytes, options) is { } refused)
                return TextExtraction.Failure(format, refused);

            try
            {
                using var reader = XmlReader.Create(ZipParts.Open(part, options.MaxOfficePartBytes), XmlSettings);
                readPart(reader, text);
            }
            catch (ZipParts.LimitExceededException exception)
            {
                return TextExtraction.Failure(format, FileErrorKind.TooLarge, FileErrors.InflatesBeyond(exception.Limit));
            }
            catch (Exception exception) when (exception is XmlException or InvalidDataException)
            {
                return TextExtraction.Failure(format, FileErrorKind.Corrupt, FileErrors.Unreadable(Describe(format, string.Empty), exception));
            }

            if (text.Truncated)
                break;
            text.Separate();
        }

        return TextExtraction.Success(format, text.ToString(), text.Truncated);
    }

    /// <summary>Runs (<c>w:t</c>) of a paragraph join without a gap, because Word splits words into runs freely.</summary>
    private static void ReadWordPart(XmlReader reader, BoundedText text)
    {
        reader.MoveToContent();
        while (!reader.EOF)
        {
            if (reader.NodeType == XmlNodeType.Element)
            {
                switch (reader.LocalName)
                {
                    case "t":
                        if (!text.Append(reader.ReadElementContentAsString()))
                            return;
                        continue;
                    case "delText" or "instrText":
                        reader.Skip();
                        continue;
                    case "tab":
                        text.Append('\t');
                        break;
                    case "br" or "cr":
                        text.Append('\n');
                        break;
                }
            }
            else if (reader.NodeType == XmlNodeType.EndElement && reader.LocalName is "p" or "tc")
            {
                text.Append('\n');
            }

            reader.Read();
        }
    }

    /// <summary>Shared strings one per line, then every sheet's own values (numbers, inline strings, formula results).</summary>
    private static void ReadSpreadsheetPart(XmlReader reader, BoundedText text)
    {
        string? cellType = null;
        reader.MoveToContent();
        while (!reader.EOF)
        {
            if (reader.NodeType == XmlNodeType.Element)
            {
                switch (reader.LocalName)
                {
                    case "c":
                        cellType = reader.GetAttribute("t");
                        break;
                    case "rPh" or "f":
                        reader.Skip();
                        continue;
                    case "v" when cellType == "s":
                        reader.Skip();
                        continue;
                    case "t" or "v":
                        if (!text.Append(reader.ReadElementContentAsString()))
                            return;
                        continue;
                }
            }
            else if (reader.NodeType == XmlNodeType.EndElement && reader.LocalName is "si" or "c")
            {
                text.Separate();
            }

            reader.Read();
        }
    }

    private static bool IsWordStoryPart(string name) =>
        !name.Contains('/', StringComparison.Ordinal)
        && name.EndsWith(".xml", StringComparison.OrdinalIgnoreCase)
        && (name.StartsWith("header", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("footer", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("footnotes", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("endnotes", StringComparison.OrdinalIgnoreCase));

    private static FileFormat FormatFromExtension(string extension) => extension switch
    {
        ".docx" => FileFormat.Docx,
        ".xlsx" => FileFormat.Xlsx,
        _ => FileFormat.Unknown,
    };

    private static string Describe(FileFormat format, string extension) => format switch
    {
        FileFormat.Docx => "Word document",
        FileFormat.Xlsx => "Excel workbook",
        _ => extension.Length > 0 ? $"{extension} file" : "ZIP container",
    };

    internal static MemoryStream AsStream(ReadOnlyMemory<byte> content) =>
        MemoryMarshal.TryGetArray(content, out var segment) && segment.Array is not null
            ? new MemoryStream(segment.Array, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);
}
