using System.Globalization;
using System.IO.Compression;

namespace Sagas.ScanSessions.Files;

/// <summary>
/// Opens ZIP entries (uploaded archives and the parts of .docx/.xlsx packages) without trusting their headers:
/// encrypted entries, entries over a size limit and entries with a zip-bomb compression ratio are refused before
/// any byte is inflated, and the inflated stream is cut off at the limit in case the declared size lies.
/// </summary>
internal static class ZipParts
{
    public static FileError? Check(ZipArchiveEntry entry, long maxBytes, ScanFilesOptions options)
    {
        if (entry.IsEncrypted)
            return new FileError(FileErrorKind.Encrypted, FileErrors.EncryptedEntry);

        if (entry.Length > maxBytes)
            return new FileError(FileErrorKind.TooLarge, FileErrors.EntryTooLarge(entry.Length, maxBytes));

        if (IsBomb(entry.Length, entry.CompressedLength, options))
            return new FileError(FileErrorKind.TooLarge, FileErrors.CompressionRatio(options.MaxCompressionRatio));

        return null;
    }

    public static bool IsBomb(long length, long compressedLength, ScanFilesOptions options) =>
        length > options.CompressionRatioFloorBytes
        && (compressedLength <= 0 || length / compressedLength > options.MaxCompressionRatio);

    /// <summary>The entry's stream, failing with <see cref="LimitExceededException"/> past <paramref name="maxBytes"/>.</summary>
    public static Stream Open(ZipArchiveEntry entry, long maxBytes) => new LimitedReadStream(entry.Open(), maxBytes);

    public static byte[] ReadAll(ZipArchiveEntry entry, long maxBytes)
    {
        using var stream = Open(entry, maxBytes);
        using var buffer = new MemoryStream(checked((int)Math.Min(Math.Max(entry.Length, 0), maxBytes)));
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    internal sealed class LimitExceededException(long limit)
        : IOException(string.Create(CultureInfo.InvariantCulture, $"More than {limit} bytes inflated."))
    {
        public long Limit { get; } = limit;
    }

    private sealed class LimitedReadStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            // Ask for one byte more than allowed so that exactly-at-limit content is accepted and anything beyond is seen.
            var allowed = (int)Math.Min(buffer.Length, limit - _read + 1);
            if (allowed <= 0)
                throw new LimitExceededException(limit);

            var read = inner.Read(buffer[..allowed]);
            _read += read;
            if (_read > limit)
                throw new LimitExceededException(limit);
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
