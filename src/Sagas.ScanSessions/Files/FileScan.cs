using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Ocr;

namespace Sagas.ScanSessions.Files;

/// <summary>The outcome of scanning one file, ready to become a result row: status string, codes, error text.</summary>
public sealed record FileScanResult(string Status, IReadOnlyList<string> MatchedCodes, FileError? Error, FileFormat Format, bool Truncated)
{
    public bool IsError => Error is not null;

    /// <summary>The codes of <see cref="MatchedCodes"/> found only in OCR text, with their confidence.</summary>
    public IReadOnlyList<OcrCodeMatch> OcrMatches { get; init; } = [];

    /// <summary>Pages (or image frames) read with OCR.</summary>
    public int OcrPages { get; init; }

    public TimeSpan OcrTime { get; init; }

    public static FileScanResult Failed(FileError error, FileFormat format = FileFormat.Unknown) =>
        new(ScanStatus.Error, Array.Empty<string>(), error, format, false);
}

/// <summary>Extract then match: the whole per-file step of a scan worker, minus fetching and recording.</summary>
public static class FileScan
{
    public static FileScanResult Run(
        ITextExtractor extractor,
        HoleCodeMatcher matcher,
        string fileName,
        ReadOnlyMemory<byte> content,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        ArgumentNullException.ThrowIfNull(matcher);
        return FromExtraction(extractor.Extract(fileName, content, cancellationToken), matcher);
    }

    public static async Task<FileScanResult> RunAsync(
        ITextExtractor extractor,
        HoleCodeMatcher matcher,
        string fileName,
        Stream content,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        ArgumentNullException.ThrowIfNull(matcher);
        return FromExtraction(await extractor.ExtractAsync(fileName, content, cancellationToken), matcher);
    }

    /// <summary>
    /// Extract, OCR what has no text layer (image files, scanned PDF pages), then match: text with
    /// <paramref name="matcher"/>, OCR text with <paramref name="ocrMatcher"/> (<see cref="HoleCodeMatcher.CreateForOcr"/>,
    /// built from the same code list). A code found in the text layer is a text match even when OCR found it too.
    /// When OCR fails the file is an Error that still lists the codes of its text layer.
    /// </summary>
    public static async Task<FileScanResult> RunAsync(
        ITextExtractor extractor,
        OcrReader ocr,
        HoleCodeMatcher matcher,
        HoleCodeMatcher ocrMatcher,
        string fileName,
        ReadOnlyMemory<byte> content,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        ArgumentNullException.ThrowIfNull(ocr);
        ArgumentNullException.ThrowIfNull(matcher);
        ArgumentNullException.ThrowIfNull(ocrMatcher);
        var extraction = extractor.Extract(fileName, content, cancellationToken);
        if (extraction.Error is not null || extraction.Ocr is not { } need)
            return FromExtraction(extraction, matcher);

        var textCodes = matcher.Match(extraction.Text).Codes;
        var read = await ocr.ReadAsync(content, need, cancellationToken);
        if (read.Error is { } error)
            return new FileScanResult(ScanStatus.Error, textCodes, error, extraction.Format, extraction.Truncated) { OcrTime = read.Elapsed };

        var confidence = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var page in read.Pages)
        {
            foreach (var code in ocrMatcher.Match(page.Text).Codes)
            {
                if (!confidence.TryGetValue(code, out var best) || page.Confidence > best)
                    confidence[code] = page.Confidence;
            }
        }

        var fromText = textCodes.ToHashSet(StringComparer.Ordinal);
        var codes = matcher.Codes.Where(code => fromText.Contains(code) || confidence.ContainsKey(code)).ToList();
        var ocrMatches = codes.Where(code => !fromText.Contains(code)).Select(code => new OcrCodeMatch(code, Math.Round(confidence[code], 3))).ToList();
        return new FileScanResult(ScanStatus.ForMatchCount(codes.Count), codes, null, extraction.Format, extraction.Truncated)
        {
            OcrMatches = ocrMatches,
            OcrPages = need.PageCount,
            OcrTime = read.Elapsed,
        };
    }

    /// <summary>Matching without OCR: a file that needs OCR is an Error here (never a silent No Code).</summary>
    public static FileScanResult FromExtraction(TextExtraction extraction, HoleCodeMatcher matcher)
    {
        ArgumentNullException.ThrowIfNull(extraction);
        ArgumentNullException.ThrowIfNull(matcher);
        if (extraction.Error is { } error)
            return FileScanResult.Failed(error, extraction.Format);
        if (extraction.Ocr is not null)
            return FileScanResult.Failed(new FileError(FileErrorKind.Unsupported, FileErrors.OcrNotRun), extraction.Format);

        var match = matcher.Match(extraction.Text);
        return new FileScanResult(match.Status, match.Codes, null, extraction.Format, extraction.Truncated);
    }
}
