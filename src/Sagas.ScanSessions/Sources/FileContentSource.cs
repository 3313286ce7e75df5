using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Sagas.ScanSessions.Files;

namespace Sagas.ScanSessions.Sources;

public enum FileContentKind
{
    /// <summary>An .xlsx or .csv whose first rows carry a manifest header.</summary>
    Manifest,

    /// <summary>A ZIP that is not an Office package: its entries are the files.</summary>
    Archive,

    /// <summary>Anything else: one file to scan (its own extraction decides whether it is readable).</summary>
    SingleFile,
}

/// <summary>The decoded <c>file_content</c>, what it is, and the name it gets when listed as a file.</summary>
public sealed record FileContentClassification(FileContentKind Kind, string FileName, byte[] Content);

/// <summary>
/// Interprets the <c>file_content</c> field of a <c>start_scan</c> message: base64 (standard or URL-safe, with or
/// without a <c>data:…;base64,</c> prefix and line breaks) of a manifest, a ZIP or a single file, told apart by content.
/// </summary>
public sealed class FileContentSource(ScanFilesOptions options, ManifestReader manifests, UploadSource uploads)
{
    public const string Missing = "file_content is empty: send the base64 of a manifest (.xlsx/.csv), a ZIP or a single file.";
    public const string NotBase64 = "file_content is not valid base64.";
    public const string DecodesToNothing = "file_content decodes to zero bytes.";

    public bool TryClassify(string? fileContent, string? fileName, out FileContentClassification? classification, out string? error)
    {
        classification = null;
        error = null;
        if (string.IsNullOrWhiteSpace(fileContent))
        {
            error = Missing;
            return false;
        }

        var payload = StripDataUrl(fileContent);
        if ((payload.Length / 4L * 3) - 2 > options.MaxUploadBytes)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"file_content is larger than {options.MaxUploadBytes} bytes (ScanSessions:Files:MaxUploadBytes).");
            return false;
        }

        var content = Decode(payload);
        if (content is null)
        {
            error = NotBase64;
            return false;
        }

        if (content.Length == 0)
        {
            error = DecodesToNothing;
            return false;
        }

        var format = FileSniffer.Sniff(content);
        var givenName = string.IsNullOrWhiteSpace(fileName) ? null : fileName.Trim();
        FileContentKind kind;
        if (format == FileFormat.Zip)
        {
            using var stream = new MemoryStream(content, writable: false);
            kind = UploadSource.IsArchive(givenName ?? "upload", stream)
                ? FileContentKind.Archive
                : manifests.HasManifestHeader(content) ? FileContentKind.Manifest : FileContentKind.SingleFile;
        }
        else if (format == FileFormat.PlainText && manifests.HasManifestHeader(content))
        {
            kind = FileContentKind.Manifest;
        }
        else
        {
            kind = FileContentKind.SingleFile;
        }

        classification = new FileContentClassification(kind, givenName ?? DefaultName(kind, format, content), content);
        return true;
    }

    /// <summary>Classifies and lists in one step: what a <c>start_scan</c> handler needs.</summary>
    public SourceListing List(string? fileContent, string? fileName = null)
    {
        if (!TryClassify(fileContent, fileName, out var classification, out var error))
            return SourceListing.Failed(error!);

        return classification!.Kind == FileContentKind.Manifest
            ? manifests.Read(classification.FileName, classification.Content)
            : uploads.List([new UploadedFile(classification.FileName, new MemoryStream(classification.Content, writable: false))]);
    }

    private static string StripDataUrl(string value)
    {
        var trimmed = value.AsSpan().Trim();
        if (trimmed.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = trimmed.IndexOf(',');
            if (comma > 0 && trimmed[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
                trimmed = trimmed[(comma + 1)..];
        }

        return trimmed.ToString();
    }

    private static byte[]? Decode(string payload)
    {
        var builder = new StringBuilder(payload.Length + 3);
        foreach (var c in payload)
        {
            if (!char.IsWhiteSpace(c))
                builder.Append(c switch { '-' => '+', '_' => '/', _ => c });
        }

        var compact = builder.ToString();
        var padding = (4 - (compact.Length % 4)) % 4;
        if (padding == 3)
            return null;
        compact += new string('=', padding);

        var buffer = new byte[Base64.GetMaxDecodedFromUtf8Length(compact.Length)];
        return Convert.TryFromBase64String(compact, buffer, out var written) ? buffer[..written] : null;
    }

    private static string DefaultName(FileContentKind kind, FileFormat format, byte[] content) => kind switch
    {
        FileContentKind.Archive => "upload.zip",
        FileContentKind.Manifest => format == FileFormat.Zip ? "manifest.xlsx" : "manifest.csv",
        _ => format switch
        {
            FileFormat.Pdf => "upload.pdf",
            FileFormat.PlainText => "upload.txt",
            FileFormat.Zip => OfficeKind(content),
            _ => "upload.bin",
        },
    };

    private static string OfficeKind(byte[] content)
    {
        using var stream = new MemoryStream(content, writable: false);
        try
        {
            using var zip = new System.IO.Compression.ZipArchive(stream);
            return zip.GetEntry("word/document.xml") is not null ? "upload.docx"
                : zip.GetEntry("xl/workbook.xml") is not null ? "upload.xlsx"
                : "upload.zip";
        }
        catch (InvalidDataException)
        {
            return "upload.zip";
        }
    }
}
