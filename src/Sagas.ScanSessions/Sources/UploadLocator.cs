using System.Globalization;

namespace Sagas.ScanSessions.Sources;

/// <summary>
/// Where an uploaded file lives: the n-th uploaded file (<c>upload:0</c>) or an entry of it by central-directory
/// index (<c>upload:0/entry:17</c>). Indices, not names, because names inside a ZIP may repeat or be unsafe.
/// </summary>
public readonly record struct UploadLocator(int UploadIndex, int? EntryIndex = null)
{
    public override string ToString() => EntryIndex is { } entry
        ? string.Create(CultureInfo.InvariantCulture, $"upload:{UploadIndex}/entry:{entry}")
        : string.Create(CultureInfo.InvariantCulture, $"upload:{UploadIndex}");

    public static bool TryParse(string? text, out UploadLocator locator)
    {
        locator = default;
        if (text is null || !text.StartsWith("upload:", StringComparison.Ordinal))
            return false;

        var rest = text.AsSpan("upload:".Length);
        var slash = rest.IndexOf('/');
        if (!TryIndex(slash < 0 ? rest : rest[..slash], out var upload))
            return false;

        if (slash < 0)
        {
            locator = new UploadLocator(upload);
            return true;
        }

        var entryPart = rest[(slash + 1)..];
        if (!entryPart.StartsWith("entry:", StringComparison.Ordinal) || !TryIndex(entryPart["entry:".Length..], out var entry))
            return false;

        locator = new UploadLocator(upload, entry);
        return true;
    }

    private static bool TryIndex(ReadOnlySpan<char> text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
