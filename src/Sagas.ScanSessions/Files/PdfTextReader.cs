using System.Globalization;
using Sagas.ScanSessions.Ocr;
using UglyToad.PdfPig;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.DocumentLayoutAnalysis.TextExtractor;
using UglyToad.PdfPig.Exceptions;

namespace Sagas.ScanSessions.Files;

/// <summary>Text of every page (up to the page limit) in content order, pages separated by a line break.</summary>
internal static class PdfTextReader
{
    public static TextExtraction Extract(ReadOnlyMemory<byte> content, ScanFilesOptions options, OcrOptions ocr, CancellationToken cancellationToken)
    {
        var scanned = new List<OcrPdfPage>();
        var text = new BoundedText(options.MaxTextCharacters);
        var pageNumber = 0;
        try
        {
            // Lenient parsing and missing-font tolerance: drawings from CAD exporters are rarely spec-perfect, and a
            // missing font still leaves the text codes readable.
            using var document = PdfDocument.Open(content, new ParsingOptions { UseLenientParsing = true, SkipMissingFonts = true });
            var pages = document.NumberOfPages;
            var truncated = pages > options.MaxPdfPages;
            for (pageNumber = 1; pageNumber <= Math.Min(pages, options.MaxPdfPages); pageNumber++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var page = document.GetPage(pageNumber);
                var pageText = ContentOrderTextExtractor.GetText(page);
                if (NeedsOcr(page, pageText, ocr.MinPageTextCharacters))
                    scanned.Add(new OcrPdfPage(pageNumber, page.Width, page.Height));
                if (!text.Separate() || !text.Append(pageText))
                    break;
            }

            return scanned.Count == 0
                ? TextExtraction.Success(FileFormat.Pdf, text.ToString(), truncated || text.Truncated)
                : TextExtraction.NeedsOcr(FileFormat.Pdf, text.ToString(), truncated || text.Truncated, new OcrNeed(null, scanned));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (PdfDocumentEncryptedException)
        {
            return TextExtraction.Failure(FileFormat.Pdf, FileErrorKind.Encrypted, FileErrors.EncryptedPdf);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            var what = pageNumber > 0
                ? string.Create(CultureInfo.InvariantCulture, $"PDF (page {pageNumber})")
                : "PDF";
            return TextExtraction.Failure(FileFormat.Pdf, FileErrorKind.Corrupt, FileErrors.Unreadable(what, exception));
        }
    }

    /// <summary>
    /// The trigger rule (docs/scan-sessions.md, "OCR"): fewer non-blank characters than the threshold, and either no
    /// text at all (a scan, or a drawing whose lettering was exported as outlines) or an image on the page (a scan with
    /// a thin stamped or typed header). A page with enough text is never OCR'd, however many images it holds.
    /// </summary>
    internal static bool NeedsOcr(Page page, string pageText, int minCharacters)
    {
        var characters = 0;
        foreach (var c in pageText)
        {
            if (!char.IsWhiteSpace(c) && ++characters >= minCharacters)
                return false;
        }

        return characters == 0 || HasImage(page);
    }

    private static bool HasImage(Page page)
    {
        try
        {
            return page.GetImages().Any();
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // An image PdfPig cannot parse is still an image poppler may render.
            return true;
        }
    }
}
