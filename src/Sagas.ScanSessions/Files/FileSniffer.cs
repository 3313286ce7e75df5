namespace Sagas.ScanSessions.Files;

/// <summary>Recognises a file by its first bytes, so a misnamed file is read as what it is.</summary>
public static class FileSniffer
{
    private const int TextProbeBytes = 8 * 1024;

    private static ReadOnlySpan<byte> PdfMagic => "%PDF-"u8;

    private static ReadOnlySpan<byte> CompoundFileMagic => [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

    /// <summary>UTF-16LE "EncryptedPackage": the stream name of an encrypted OOXML package inside a compound file.</summary>
    private static ReadOnlySpan<byte> EncryptedPackageName =>
        [(byte)'E', 0, (byte)'n', 0, (byte)'c', 0, (byte)'r', 0, (byte)'y', 0, (byte)'p', 0, (byte)'t', 0, (byte)'e', 0, (byte)'d', 0,
         (byte)'P', 0, (byte)'a', 0, (byte)'c', 0, (byte)'k', 0, (byte)'a', 0, (byte)'g', 0, (byte)'e', 0];

    /// <summary>
    /// <see cref="FileFormat.Pdf"/>, <see cref="FileFormat.Zip"/> (Office packages included: the ZIP reader tells them
    /// apart), <see cref="FileFormat.LegacyOffice"/>, <see cref="FileFormat.EncryptedOffice"/>,
    /// <see cref="FileFormat.OtherBinary"/> for well-known binary formats, <see cref="FileFormat.PlainText"/> when the
    /// start looks like text, otherwise <see cref="FileFormat.Unknown"/>.
    /// </summary>
    public static FileFormat Sniff(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty)
            return FileFormat.Unknown;

        // The PDF specification tolerates bytes before the header; readers look in the first kilobyte.
        if (content[..Math.Min(content.Length, 1024)].IndexOf(PdfMagic) >= 0)
            return FileFormat.Pdf;

        if (IsZip(content))
            return FileFormat.Zip;

        if (content.StartsWith(CompoundFileMagic))
            return content.IndexOf(EncryptedPackageName) >= 0 ? FileFormat.EncryptedOffice : FileFormat.LegacyOffice;

        if (IsKnownBinary(content))
            return FileFormat.OtherBinary;

        return LooksLikeText(content) ? FileFormat.PlainText : FileFormat.Unknown;
    }

    public static bool IsZip(ReadOnlySpan<byte> content) =>
        content.StartsWith("PK\u0003\u0004"u8) || content.StartsWith("PK\u0005\u0006"u8) || content.StartsWith("PK\u0007\u0008"u8);

    /// <summary>A byte-order mark, or a start without NUL bytes and with few control characters.</summary>
    public static bool LooksLikeText(ReadOnlySpan<byte> content)
    {
        if (TextDecoding.DetectBom(content, out _) is not null)
            return true;

        var probe = content[..Math.Min(content.Length, TextProbeBytes)];
        if (probe.IndexOf((byte)0) >= 0)
            return false;

        var controls = 0;
        foreach (var b in probe)
        {
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0C or 0x1B))
                controls++;
        }

        return controls * 20 <= probe.Length;
    }

    private static bool IsKnownBinary(ReadOnlySpan<byte> content) =>
        content.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G'])
        || content.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])
        || content.StartsWith("GIF8"u8)
        || content.StartsWith("II*\0"u8)
        || content.StartsWith("MM\0*"u8)
        || content.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B])
        || content.StartsWith((ReadOnlySpan<byte>)[(byte)'7', (byte)'z', 0xBC, 0xAF, 0x27, 0x1C])
        || content.StartsWith("Rar!"u8);
}
