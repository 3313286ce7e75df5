using System.Buffers.Binary;

namespace Sagas.ScanSessions.Sources;

/// <summary>
/// The central directory of an archive in the blob store, read with two ranged reads (its tail, then the directory),
/// so one entry can be read with one more ranged read of its local header and compressed data instead of the whole
/// archive. <see cref="EntryArchive"/> makes that slice a one-entry ZIP of its own, which the usual reader (and its
/// checks) opens as it opens any upload.
/// </summary>
internal sealed class ZipIndex
{
    private const uint EndOfCentralDirectory = 0x06054b50;
    private const uint Zip64Locator = 0x07064b50;
    private const uint Zip64EndOfCentralDirectory = 0x06064b50;
    private const uint CentralHeader = 0x02014b50;
    private const uint LocalHeader = 0x04034b50;
    private const int LocalHeaderSize = 30;
    private const int CentralHeaderSize = 46;

    /// <summary>Room read past an entry's name for its local extra field, which may differ from the central one.</summary>
    private const int ExtraAllowance = 256;

    private ZipIndex(long directoryOffset, IReadOnlyList<Entry> entries, long bytes)
    {
        DirectoryOffset = directoryOffset;
        Entries = entries;
        Bytes = bytes;
    }

    public long DirectoryOffset { get; }

    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>About what the index holds in memory.</summary>
    public long Bytes { get; }

    public delegate Task<byte[]> RangeReader(long offset, long length, CancellationToken cancellationToken);

    /// <returns>The index, or null when the blob is not a ZIP this reader understands (the caller reads it whole).</returns>
    public static async Task<ZipIndex?> ReadAsync(long archiveLength, long maxDirectoryBytes, RangeReader read, CancellationToken cancellationToken)
    {
        if (archiveLength < 22)
            return null;

        var tailLength = (int)Math.Min(archiveLength, 22 + ushort.MaxValue + 20);
        var tailStart = archiveLength - tailLength;
        var tail = await read(tailStart, tailLength, cancellationToken);
        var end = -1;
        for (var i = tail.Length - 22; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) == EndOfCentralDirectory)
            {
                end = i;
                break;
            }
        }

        if (end < 0)
            return null;

        long count = BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(end + 10));
        long size = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(end + 12));
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(end + 16));
        if (count == ushort.MaxValue || size == uint.MaxValue || offset == uint.MaxValue)
        {
            if (end < 20 || BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(end - 20)) != Zip64Locator)
                return null;
            var recordOffset = BinaryPrimitives.ReadInt64LittleEndian(tail.AsSpan(end - 20 + 8));
            if (recordOffset < 0 || recordOffset > archiveLength - 56)
                return null;
            var record = await read(recordOffset, 56, cancellationToken);
            if (record.Length < 56 || BinaryPrimitives.ReadUInt32LittleEndian(record) != Zip64EndOfCentralDirectory)
                return null;
            count = BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(32));
            size = BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(40));
            offset = BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(48));
        }

        if (offset < 0 || size < 0 || size > maxDirectoryBytes || offset + size > archiveLength || count > size / CentralHeaderSize)
            return null;

        var directory = await read(offset, size, cancellationToken);
        if (directory.Length != size)
            return null;

        var entries = new List<Entry>((int)count);
        var position = 0;
        while (position + CentralHeaderSize <= directory.Length && BinaryPrimitives.ReadUInt32LittleEndian(directory.AsSpan(position)) == CentralHeader)
        {
            var header = directory.AsSpan(position);
            var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
            var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[30..]);
            var commentLength = BinaryPrimitives.ReadUInt16LittleEndian(header[32..]);
            var recordLength = CentralHeaderSize + nameLength + extraLength + commentLength;
            if (position + recordLength > directory.Length)
                return null;

            var raw = directory.AsSpan(position, recordLength).ToArray();
            if (Parse(raw, nameLength, extraLength) is not { } entry || entry.LocalHeaderOffset + LocalHeaderSize + entry.CompressedSize > offset)
                return null;
            entries.Add(entry);
            position += recordLength;
        }

        return entries.Count == count ? new ZipIndex(offset, entries, entries.Sum(e => (long)e.CentralRecord.Length + 64)) : null;
    }

    /// <summary>One entry as a complete one-entry ZIP (local header, data, directory, end record), read with one ranged read.</summary>
    public async Task<byte[]?> EntryArchiveAsync(int index, RangeReader read, CancellationToken cancellationToken)
    {
        var entry = Entries[index];
        var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(entry.CentralRecord.AsSpan(28));
        var end = DirectoryOffset;
        var guess = Math.Min(LocalHeaderSize + nameLength + ExtraAllowance + entry.CompressedSize, end - entry.LocalHeaderOffset);
        var slice = await read(entry.LocalHeaderOffset, guess, cancellationToken);
        if (slice.Length < LocalHeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(slice) != LocalHeader)
            return null;

        var local = LocalHeaderSize + BinaryPrimitives.ReadUInt16LittleEndian(slice.AsSpan(26)) + BinaryPrimitives.ReadUInt16LittleEndian(slice.AsSpan(28)) + entry.CompressedSize;
        if (local > end - entry.LocalHeaderOffset)
            return null;
        if (local > slice.Length)
        {
            // A local extra field longer than allowed for: one more read, of exactly what is missing.
            var rest = await read(entry.LocalHeaderOffset + slice.Length, local - slice.Length, cancellationToken);
            slice = [.. slice, .. rest];
            if (slice.Length < local)
                return null;
        }

        var central = (byte[])entry.CentralRecord.Clone();
        // The entry now starts the archive: its directory record points at offset 0.
        if (entry.Zip64OffsetPosition >= 0)
            BinaryPrimitives.WriteInt64LittleEndian(central.AsSpan(entry.Zip64OffsetPosition), 0);
        else
            BinaryPrimitives.WriteUInt32LittleEndian(central.AsSpan(42), 0);

        var archive = new byte[local + central.Length + 22];
        slice.AsSpan(0, (int)local).CopyTo(archive);
        central.CopyTo(archive.AsSpan((int)local));
        var tail = archive.AsSpan((int)local + central.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(tail, EndOfCentralDirectory);
        BinaryPrimitives.WriteUInt16LittleEndian(tail[8..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(tail[10..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(tail[12..], (uint)central.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(tail[16..], (uint)local);
        return archive;
    }

    private static Entry? Parse(byte[] raw, int nameLength, int extraLength)
    {
        long compressed = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(20));
        long uncompressed = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(24));
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(42));
        var zip64OffsetPosition = -1;
        if (compressed == uint.MaxValue || uncompressed == uint.MaxValue || offset == uint.MaxValue)
        {
            var extra = CentralHeaderSize + nameLength;
            var extraEnd = extra + extraLength;
            var found = false;
            while (extra + 4 <= extraEnd)
            {
                var id = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(extra));
                var length = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(extra + 2));
                if (extra + 4 + length > extraEnd)
                    return null;
                if (id == 1)
                {
                    var field = extra + 4;
                    var fieldEnd = field + length;
                    if (uncompressed == uint.MaxValue)
                    {
                        if (field + 8 > fieldEnd)
                            return null;
                        uncompressed = BinaryPrimitives.ReadInt64LittleEndian(raw.AsSpan(field));
                        field += 8;
                    }

                    if (compressed == uint.MaxValue)
                    {
                        if (field + 8 > fieldEnd)
                            return null;
                        compressed = BinaryPrimitives.ReadInt64LittleEndian(raw.AsSpan(field));
                        field += 8;
                    }

                    if (offset == uint.MaxValue)
                    {
                        if (field + 8 > fieldEnd)
                            return null;
                        offset = BinaryPrimitives.ReadInt64LittleEndian(raw.AsSpan(field));
                        zip64OffsetPosition = field;
                    }

                    found = true;
                    break;
                }

                extra += 4 + length;
            }

            if (!found)
                return null;
        }

        return compressed < 0 || offset < 0 ? null : new Entry(raw, offset, compressed, zip64OffsetPosition);
    }

    /// <param name="Zip64OffsetPosition">Where in <paramref name="CentralRecord"/> a ZIP64 offset sits, or -1.</param>
    public sealed record Entry(byte[] CentralRecord, long LocalHeaderOffset, long CompressedSize, int Zip64OffsetPosition);
}
