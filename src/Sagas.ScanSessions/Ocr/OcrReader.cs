using System.Diagnostics;
using Sagas.ScanSessions.Files;

namespace Sagas.ScanSessions.Ocr;

/// <summary>The OCR'd pages of one file, or why there are none, and how long OCR took.</summary>
public sealed record OcrRead(IReadOnlyList<OcrPageText> Pages, FileError? Error, TimeSpan Elapsed);

/// <summary>A code found only in OCR text, with the mean word confidence (0 to 1) of the best page it was found on.</summary>
public sealed record OcrCodeMatch(string Code, double Confidence);

/// <summary>
/// Applies the limits before any decoding (engine available, pages, pixels), then hands the file to the
/// <see cref="IOcrEngine"/>. Every refusal is a per-file error naming its setting.
/// </summary>
public sealed class OcrReader(IOcrEngine engine, OcrOptions options)
{
    public async Task<OcrRead> ReadAsync(ReadOnlyMemory<byte> content, OcrNeed need, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(need);
        if (engine.Unavailable is { } unavailable)
            return Failed(FileErrorKind.Unsupported, unavailable);
        if (need.PageCount > options.MaxPages)
            return Failed(FileErrorKind.TooLarge, FileErrors.TooManyOcrPages(options.MaxPages));
        if (need.Image is { } declared && declared.Pixels > options.MaxImagePixels)
            return Failed(FileErrorKind.TooLarge, FileErrors.ImageTooLarge(declared.Width, declared.Height, options.MaxImagePixels));

        var clock = Stopwatch.StartNew();
        var outcome = need.Image is { } image
            ? await engine.RecognizeImageAsync(content, image, cancellationToken)
            : await engine.RecognizePdfPagesAsync(content, need.PdfPages, cancellationToken);
        // The engine's own working time when it knows it: files queued for a slot would otherwise count their wait.
        var elapsed = outcome.Busy ?? clock.Elapsed;
        return outcome.Error is { } error
            ? new OcrRead([], new FileError(FileErrorKind.Corrupt, error), elapsed)
            : new OcrRead(outcome.Pages, null, elapsed);
    }

    private static OcrRead Failed(FileErrorKind kind, string message) => new([], new FileError(kind, message), TimeSpan.Zero);
}
