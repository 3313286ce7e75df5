using System.Globalization;

namespace Sagas.ScanSessions.Files;

/// <summary>Every per-file error text, in one place so docs/scan-files.md can list them.</summary>
public static class FileErrors
{
    public const string Empty = "The file is empty.";
    public const string EncryptedEntry = "The ZIP entry is encrypted (password-protected).";
    public const string EncryptedPdf = "The PDF is password-protected or encrypted.";
    public const string EncryptedOffice = "The Office document is password-protected (encrypted package).";
    public const string LegacyOffice = "Legacy Office formats (.doc, .xls, .ppt) are not supported: save the file as .docx or .xlsx.";
    public const string NestedArchive = "ZIP archives inside an upload are not expanded.";
    public const string UnsafePath = "The entry path leaves the archive folder (absolute path, drive letter, '..' or control characters); it was not extracted.";
    public const string SupportedFormats = "PDF, plain text (.txt, .csv, .log, .json, .xml), .docx, .xlsx and PNG, JPEG or TIFF images (OCR)";

    public const string OcrNotRun = "The file has scanned pages or is an image, and OCR was not run on it.";

    public static string CorruptImage(Sagas.ScanSessions.Ocr.ImageKind kind) =>
        $"The {kind.ToString().ToUpperInvariant()} image could not be read: its header is truncated or malformed.";

    public static string TooManyOcrPages(int limit) =>
        Invariant($"The file has more than {limit} pages needing OCR (scanned PDF pages or TIFF frames); it was not read (ScanSessions:Ocr:MaxPages).");

    public static string ImageTooLarge(int width, int height, long limit) =>
        Invariant($"The image is {width} × {height} pixels, more than the {limit} pixels allowed (ScanSessions:Ocr:MaxImagePixels).");

    public static string FileTooLarge(long limit) => Invariant($"The file is larger than {limit} bytes (ScanSessions:Files:MaxFileBytes).");

    public static string EntryTooLarge(long length, long limit) => Invariant($"The entry inflates to {length} bytes, more than the {limit} bytes allowed.");

    public static string InflatesBeyond(long limit) => Invariant($"The content inflates to more than {limit} bytes; reading stopped.");

    public static string CompressionRatio(int ratio) =>
        Invariant($"The entry compresses more than {ratio}:1, which looks like a zip bomb; it was not inflated (ScanSessions:Files:MaxCompressionRatio).");

    public static string Unsupported(string? extension) =>
        string.IsNullOrEmpty(extension)
            ? $"Unsupported file type: only {SupportedFormats} are scanned."
            : $"Unsupported file type ({extension}): only {SupportedFormats} are scanned.";

    public static string NotWhatItsNameSays(string extension, string expected) =>
        $"The file is named '{extension}' but its content is not {expected}.";

    public static string Unreadable(string what, Exception exception) => $"The {what} could not be read: {Reason(exception)}";

    internal static string Reason(Exception exception)
    {
        var message = exception.Message.ReplaceLineEndings(" ").Trim();
        if (message.Length > 200)
            message = string.Concat(message.AsSpan(0, 200), "…");
        return message.Length == 0 ? exception.GetType().Name : message.TrimEnd('.') + ".";
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
