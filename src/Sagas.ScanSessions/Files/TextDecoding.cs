using System.Text;
using System.Text.Unicode;

namespace Sagas.ScanSessions.Files;

/// <summary>
/// Decodes plain text: a byte-order mark decides (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE); without one the bytes are
/// UTF-8 when they are valid UTF-8 and Latin-1 otherwise, so a legacy 8-bit file still yields its ASCII codes
/// instead of replacement characters.
/// </summary>
public static class TextDecoding
{
    private static readonly Encoding Utf32BigEndian = new UTF32Encoding(bigEndian: true, byteOrderMark: false);

    /// <returns>The encoding the byte-order mark names (and its length), or null without a mark.</returns>
    public static Encoding? DetectBom(ReadOnlySpan<byte> content, out int bomLength)
    {
        // UTF-32 LE before UTF-16 LE: its mark starts with the UTF-16 LE mark.
        (Encoding? encoding, bomLength) = content switch
        {
            [0xEF, 0xBB, 0xBF, ..] => (new UTF8Encoding(false), 3),
            [0xFF, 0xFE, 0x00, 0x00, ..] => (Encoding.UTF32, 4),
            [0x00, 0x00, 0xFE, 0xFF, ..] => (Utf32BigEndian, 4),
            [0xFF, 0xFE, ..] => (Encoding.Unicode, 2),
            [0xFE, 0xFF, ..] => (Encoding.BigEndianUnicode, 2),
            _ => ((Encoding?)null, 0),
        };
        return encoding;
    }

    public static string Decode(ReadOnlySpan<byte> content, int maxCharacters, out bool truncated)
    {
        var encoding = DetectBom(content, out var bomLength);
        var body = content[bomLength..];
        encoding ??= Utf8.IsValid(body) ? new UTF8Encoding(false) : Encoding.Latin1;

        var decoder = encoding.GetDecoder();
        // Two chars at least: the decoder refuses a buffer that cannot hold one surrogate pair.
        var output = new char[Math.Max(2, Math.Min(maxCharacters, encoding.GetMaxCharCount(Math.Min(body.Length, int.MaxValue / 4))))];
        decoder.Convert(body, output, flush: true, out var bytesUsed, out var charsUsed, out _);
        truncated = bytesUsed < body.Length || charsUsed > maxCharacters;
        return new string(output, 0, Math.Min(charsUsed, maxCharacters));
    }
}
