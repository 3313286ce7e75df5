namespace Sagas.ScanSessions.Ocr;

/// <summary>One recognised page: its text (lines separated by line breaks) and the mean word confidence, 0 to 1.</summary>
public sealed record OcrPageText(int Page, string Text, double Confidence);

/// <summary>A PDF page to OCR: its 1-based number and its size in points, which decide the rendering resolution.</summary>
public sealed record OcrPdfPage(int Number, double WidthPoints, double HeightPoints);

/// <summary>The pages recognised, or why recognition failed (a per-file error text naming the cause or limit).</summary>
/// <param name="Busy">
/// How long the engine really worked on the file, without waiting for a free OCR slot; null when the engine cannot
/// tell, and then the reader counts the whole call.
/// </param>
public sealed record OcrOutcome(IReadOnlyList<OcrPageText> Pages, string? Error, TimeSpan? Busy = null)
{
    public static OcrOutcome Failed(string error) => new([], error);
}

/// <summary>
/// Where OCR happens. The default is <see cref="LocalOcrEngine"/> (Tesseract and poppler as child processes on the
/// worker); a cloud engine (Amazon Textract, say) would implement this and be registered in its place. Implementations
/// never throw for bad content: they return a failed <see cref="OcrOutcome"/>. Only cancellation escapes.
/// </summary>
public interface IOcrEngine
{
    /// <summary>Null when the engine can run here; otherwise the per-file error text saying why OCR is unavailable.</summary>
    string? Unavailable { get; }

    /// <summary>Recognises an image file (every frame of a TIFF). The header was already checked against the limits.</summary>
    Task<OcrOutcome> RecognizeImageAsync(ReadOnlyMemory<byte> content, ImageInfo image, CancellationToken cancellationToken);

    /// <summary>Renders and recognises the given pages of a PDF.</summary>
    Task<OcrOutcome> RecognizePdfPagesAsync(ReadOnlyMemory<byte> content, IReadOnlyList<OcrPdfPage> pages, CancellationToken cancellationToken);
}
