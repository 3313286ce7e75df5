using Sagas.ScanSessions.Ocr;

namespace Sagas.ScanSessions.Files;

/// <summary>
/// What still has to be read with OCR: an image file (<see cref="Image"/>) or the scanned pages of a PDF
/// (<see cref="PdfPages"/>, chosen by the rule of <see cref="OcrOptions.MinPageTextCharacters"/>).
/// </summary>
public sealed record OcrNeed(ImageInfo? Image, IReadOnlyList<OcrPdfPage> PdfPages)
{
    public int PageCount => Image?.Frames ?? PdfPages.Count;
}

/// <summary>The text of one file, or why there is none. Never both.</summary>
public sealed record TextExtraction
{
    private TextExtraction(FileFormat format, string text, bool truncated, FileError? error, OcrNeed? ocr = null)
    {
        Ocr = ocr;
        Format = format;
        Text = text;
        Truncated = truncated;
        Error = error;
    }

    public FileFormat Format { get; }

    public string Text { get; }

    /// <summary>A text, page or size limit cut the file short: codes after the cut were not searched.</summary>
    public bool Truncated { get; }

    public FileError? Error { get; }

    public bool Succeeded => Error is null;

    /// <summary>Pages without a usable text layer, to be read with OCR before matching; null when there are none.</summary>
    public OcrNeed? Ocr { get; }

    public static TextExtraction NeedsOcr(FileFormat format, string text, bool truncated, OcrNeed ocr) => new(format, text, truncated, null, ocr);

    public static TextExtraction Success(FileFormat format, string text, bool truncated) => new(format, text, truncated, null);

    public static TextExtraction Failure(FileFormat format, FileErrorKind kind, string message) =>
        new(format, string.Empty, false, new FileError(kind, message));

    public static TextExtraction Failure(FileFormat format, FileError error) => new(format, string.Empty, false, error);
}
