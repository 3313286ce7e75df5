namespace Sagas.ScanSessions.Files;

/// <summary>
/// Turns one file's bytes into text. Implementations never throw for bad content: unreadable, encrypted, oversized
/// or unsupported files come back as a failed <see cref="TextExtraction"/>. Only cancellation escapes
/// (<see cref="OperationCanceledException"/>), because a cancelled session is not a property of the file.
/// </summary>
public interface ITextExtractor
{
    TextExtraction Extract(string fileName, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default);

    /// <summary>Reads at most <see cref="ScanFilesOptions.MaxFileBytes"/> + 1 bytes of <paramref name="content"/>, then extracts.</summary>
    Task<TextExtraction> ExtractAsync(string fileName, Stream content, CancellationToken cancellationToken = default);
}
