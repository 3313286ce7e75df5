namespace Sagas.ScanSessions.Files;

/// <summary>The text of one file, or why there is none. Never both.</summary>
public sealed record TextExtraction
{
    private TextExtraction(FileFormat format, string text, bool truncated, FileError? error)
    {
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

    public static TextExtraction Success(FileFormat format, string text, bool truncated) => new(format, text, truncated, null);

    public static TextExtraction Failure(FileFormat format, FileErrorKind kind, string message) =>
        new(format, string.Empty, false, new FileError(kind, message));

    public static TextExtraction Failure(FileFormat format, FileError error) => new(format, string.Empty, false, error);
}
