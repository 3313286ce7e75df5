using Sagas.ScanSessions.Matching;

namespace Sagas.ScanSessions.Files;

/// <summary>The outcome of scanning one file, ready to become a result row: status string, codes, error text.</summary>
public sealed record FileScanResult(string Status, IReadOnlyList<string> MatchedCodes, FileError? Error, FileFormat Format, bool Truncated)
{
    public bool IsError => Error is not null;

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

    public static FileScanResult FromExtraction(TextExtraction extraction, HoleCodeMatcher matcher)
    {
        ArgumentNullException.ThrowIfNull(extraction);
        ArgumentNullException.ThrowIfNull(matcher);
        if (extraction.Error is { } error)
            return FileScanResult.Failed(error, extraction.Format);

        var match = matcher.Match(extraction.Text);
        return new FileScanResult(match.Status, match.Codes, null, extraction.Format, extraction.Truncated);
    }
}
