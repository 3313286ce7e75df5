using System.Globalization;
using UglyToad.PdfPig;
using UglyToad.PdfPig.DocumentLayoutAnalysis.TextExtractor;
using UglyToad.PdfPig.Exceptions;

namespace Sagas.ScanSessions.Files;

/// <summary>Text of every page (up to the page limit) in content order, pages separated by a line break.</summary>
internal static class PdfTextReader
{
    public static TextExtraction Extract(ReadOnlyMemory<byte> content, ScanFilesOptions options, CancellationToken cancellationToken)
    {
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
                if (!text.Separate() || !text.Append(ContentOrderTextExtractor.GetText(page)))
                    break;
            }

            return TextExtraction.Success(FileFormat.Pdf, text.ToString(), truncated || text.Truncated);
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
}
