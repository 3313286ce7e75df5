using System.Buffers.Binary;

namespace Sagas.ScanSessions.Sources;

/// <summary>
/// Reads the entry count an archive declares in its end-of-central-directory record (ZIP64 included) without
/// reading the directory itself, so an archive claiming millions of entries is refused before any is loaded.
/// </summary>
internal static class ZipDirectory
{
    private const uint EndOfCentralDirectory = 0x06054b50;
    private const uint Zip64Locator = 0x07064b50;
    private const uint Zip64EndOfCentralDirectory = 0x06064b50;

    /// <returns>The declared count, or null when no end record is found (the ZIP reader will then report the damage).</returns>
    public static long? DeclaredEntryCount(Stream archive)
    {
        var start = archive.Position;
        if (archive.Length < 22)
            return null;

        try
        {
            var tailLength = (int)Math.Min(archive.Length, 22 + ushort.MaxValue);
            var tail = new byte[tailLength];
            archive.Seek(-tailLength, SeekOrigin.End);
            archive.ReadExactly(tail);

            for (var i = tailLength - 22; i >= 0; i--)
            {
                if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) != EndOfCentralDirectory)
                    continue;

                var count = BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(i + 10));
                if (count != ushort.MaxValue)
                    return count;

                return Zip64Count(archive, archive.Length - tailLength + i) ?? count;
            }

            return null;
        }
        finally
        {
            archive.Position = start;
        }
    }

    private static long? Zip64Count(Stream archive, long endRecordOffset)
    {
        if (endRecordOffset < 20)
            return null;

        var locator = new byte[20];
        archive.Position = endRecordOffset - 20;
        archive.ReadExactly(locator);
        if (BinaryPrimitives.ReadUInt32LittleEndian(locator) != Zip64Locator)
            return null;

        var recordOffset = BinaryPrimitives.ReadInt64LittleEndian(locator.AsSpan(8));
        if (recordOffset < 0 || recordOffset > archive.Length - 56)
            return null;

        var record = new byte[56];
        archive.Position = recordOffset;
        archive.ReadExactly(record);
        return BinaryPrimitives.ReadUInt32LittleEndian(record) == Zip64EndOfCentralDirectory
            ? BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(32))
            : null;
    }
}
