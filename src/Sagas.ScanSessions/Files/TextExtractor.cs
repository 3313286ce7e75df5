using Sagas.ScanSessions.Ocr;

namespace Sagas.ScanSessions.Files;

/// <summary>
/// Picks the reader for a file by its bytes first and its extension second: a PDF named <c>.txt</c> is read as a
/// PDF, and a file named <c>.pdf</c> that is not one is an error rather than a page of binary "text".
/// </summary>
public sealed class TextExtractor(ScanFilesOptions options, OcrOptions? ocrOptions = null) : ITextExtractor
{
    private readonly OcrOptions _ocr = ocrOptions ?? new OcrOptions();

    /// <summary>Extensions read as text even when a sniff would hesitate; any other text-looking content is read too.</summary>
    public static readonly IReadOnlySet<string> TextExtensions =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".txt", ".csv", ".tsv", ".log", ".json", ".xml" };

    public TextExtraction Extract(string fileName, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return Dispatch(fileName, content, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // The readers turn the failures they know into precise messages; this is the guarantee for the rest.
            return TextExtraction.Failure(FileFormat.Unknown, FileErrorKind.Corrupt, FileErrors.Unreadable("file", exception));
        }
    }

    private TextExtraction Dispatch(string fileName, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var extension = Extension(fileName);
        if (content.IsEmpty)
            return TextExtraction.Failure(FileFormat.Unknown, FileErrorKind.Empty, FileErrors.Empty);
        if (content.Length > options.MaxFileBytes)
            return TextExtraction.Failure(FileFormat.Unknown, FileErrorKind.TooLarge, FileErrors.FileTooLarge(options.MaxFileBytes));

        var sniffed = FileSniffer.Sniff(content.Span);
        switch (sniffed)
        {
            case FileFormat.Pdf:
                return PdfTextReader.Extract(content, options, _ocr, cancellationToken);
            case FileFormat.Zip:
                return OfficeTextReader.Extract(content, extension, options, cancellationToken);
            case FileFormat.EncryptedOffice:
                return TextExtraction.Failure(sniffed, FileErrorKind.Encrypted, FileErrors.EncryptedOffice);
            case FileFormat.LegacyOffice:
                return TextExtraction.Failure(sniffed, FileErrorKind.Unsupported, FileErrors.LegacyOffice);
        }

        if (ImageHeader.Sniff(content.Span) is { } kind)
        {
            // Only the header is read here: its declared size and frame count are checked before anything decodes it.
            return ImageHeader.Read(content.Span, _ocr.MaxPages) is { } image
                ? TextExtraction.NeedsOcr(FileFormat.Image, string.Empty, false, new OcrNeed(image, []))
                : TextExtraction.Failure(FileFormat.Image, FileErrorKind.Corrupt, FileErrors.CorruptImage(kind));
        }

        if (ExpectedContent(extension) is { } expected)
            return TextExtraction.Failure(sniffed, FileErrorKind.Corrupt, FileErrors.NotWhatItsNameSays(extension, expected));

        if (sniffed == FileFormat.PlainText || (TextExtensions.Contains(extension) && sniffed != FileFormat.OtherBinary && FileSniffer.LooksLikeText(content.Span)))
        {
            var text = TextDecoding.Decode(content.Span, options.MaxTextCharacters, out var truncated);
            return TextExtraction.Success(FileFormat.PlainText, text, truncated);
        }

        return TextExtraction.Failure(sniffed, FileErrorKind.Unsupported, FileErrors.Unsupported(extension));
    }

    public async Task<TextExtraction> ExtractAsync(string fileName, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var read = await BoundedRead.ReadAsync(content, options.MaxFileBytes, cancellationToken);
        return read is null
            ? TextExtraction.Failure(FileFormat.Unknown, FileErrorKind.TooLarge, FileErrors.FileTooLarge(options.MaxFileBytes))
            : Extract(fileName, read, cancellationToken);
    }

    private static string Extension(string fileName) =>
        Path.GetExtension(fileName.AsSpan().TrimEnd()).ToString().ToLowerInvariant();

    private static string? ExpectedContent(string extension) => extension switch
    {
        ".pdf" => "a PDF",
        ".docx" => "a Word document",
        ".xlsx" => "an Excel workbook",
        ".zip" => "a ZIP archive",
        _ => null,
    };
}
