using System.Buffers.Binary;

namespace Sagas.ScanSessions.Ocr;

/// <summary>Image formats read with OCR.</summary>
public enum ImageKind
{
    Png,
    Jpeg,
    Tiff,
}

/// <summary>Size and frame count of an image, read from its header without decoding a pixel.</summary>
/// <param name="Frames">Pages of a TIFF (counted up to the limit given, plus one); 1 for PNG and JPEG.</param>
/// <param name="Width">The largest frame's width.</param>
/// <param name="Height">The largest frame's height.</param>
/// <param name="Pixels">The largest frame's width × height.</param>
public sealed record ImageInfo(ImageKind Kind, int Width, int Height, long Pixels, int Frames);

/// <summary>
/// Reads PNG, JPEG and TIFF headers so that a decompression bomb (a small file declaring 100,000 × 100,000 pixels) or
/// a TIFF of thousands of frames is refused before any decoder allocates for it.
/// </summary>
public static class ImageHeader
{
    public static ImageKind? Sniff(ReadOnlySpan<byte> content)
    {
        if (content.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
            return ImageKind.Png;
        if (content.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
            return ImageKind.Jpeg;
        if (content.StartsWith("II*\0"u8) || content.StartsWith("MM\0*"u8))
            return ImageKind.Tiff;
        return null;
    }

    /// <returns>The header's facts, or null when the header is truncated or malformed.</returns>
    public static ImageInfo? Read(ReadOnlySpan<byte> content, int maxFrames)
    {
        return Sniff(content) switch
        {
            ImageKind.Png => Png(content),
            ImageKind.Jpeg => Jpeg(content),
            ImageKind.Tiff => Tiff(content, maxFrames),
            _ => null,
        };
    }

    private static ImageInfo? Png(ReadOnlySpan<byte> content)
    {
        // The signature, then the IHDR chunk must come first: length 13, type, width, height.
        if (content.Length < 24 || !content.Slice(12, 4).SequenceEqual("IHDR"u8))
            return null;
        var width = BinaryPrimitives.ReadUInt32BigEndian(content.Slice(16, 4));
        var height = BinaryPrimitives.ReadUInt32BigEndian(content.Slice(20, 4));
        return Make(ImageKind.Png, width, height, 1);
    }

    private static ImageInfo? Jpeg(ReadOnlySpan<byte> content)
    {
        var position = 2;
        while (position + 4 <= content.Length)
        {
            if (content[position] != 0xFF)
                return null;
            var marker = content[position + 1];
            if (marker == 0xFF)
            {
                position++;
                continue;
            }

            if (marker is 0x01 or (>= 0xD0 and <= 0xD7))
            {
                position += 2;
                continue;
            }

            if (marker is 0xD9 or 0xDA)
                return null;

            var length = BinaryPrimitives.ReadUInt16BigEndian(content.Slice(position + 2, 2));
            if (length < 2)
                return null;

            // SOF0..SOF15 carry the frame size; C4 (Huffman tables), C8 (reserved) and CC (arithmetic tables) do not.
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                if (position + 9 > content.Length)
                    return null;
                var height = BinaryPrimitives.ReadUInt16BigEndian(content.Slice(position + 5, 2));
                var width = BinaryPrimitives.ReadUInt16BigEndian(content.Slice(position + 7, 2));
                return Make(ImageKind.Jpeg, width, height, 1);
            }

            position += 2 + length;
        }

        return null;
    }

    private static ImageInfo? Tiff(ReadOnlySpan<byte> content, int maxFrames)
    {
        var little = content[0] == (byte)'I';
        if (content.Length < 8)
            return null;
        var offset = U32(content, 4, little);
        var frames = 0;
        uint maxWidth = 0, maxHeight = 0;
        ulong maxPixels = 0;
        var seen = new HashSet<uint>();
        while (offset != 0)
        {
            // A loop of IFDs pointing back at each other is a classic hostile TIFF.
            if (!seen.Add(offset) || offset > content.Length - 2)
                return null;
            var entries = U16(content, (int)offset, little);
            var first = (int)offset + 2;
            if (first + (entries * 12L) + 4 > content.Length)
                return null;

            uint width = 0, height = 0;
            for (var i = 0; i < entries; i++)
            {
                var entry = first + (i * 12);
                var tag = U16(content, entry, little);
                if (tag is not (256 or 257))
                    continue;
                var type = U16(content, entry + 2, little);
                uint value = type switch
                {
                    3 => U16(content, entry + 8, little),
                    4 => U32(content, entry + 8, little),
                    _ => 0,
                };
                if (tag == 256)
                    width = value;
                else
                    height = value;
            }

            if (width == 0 || height == 0)
                return null;
            frames++;
            if ((ulong)width * height > maxPixels)
            {
                maxPixels = (ulong)width * height;
                maxWidth = width;
                maxHeight = height;
            }

            if (frames > maxFrames)
                break;
            offset = U32(content, first + (entries * 12), little);
        }

        return frames == 0 ? null : Make(ImageKind.Tiff, maxWidth, maxHeight, frames);
    }

    private static ImageInfo? Make(ImageKind kind, uint width, uint height, int frames) =>
        width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue
            ? null
            : new ImageInfo(kind, (int)width, (int)height, (long)width * height, frames);

    private static ushort U16(ReadOnlySpan<byte> content, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(content.Slice(at, 2)) : BinaryPrimitives.ReadUInt16BigEndian(content.Slice(at, 2));

    private static uint U32(ReadOnlySpan<byte> content, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(content.Slice(at, 4)) : BinaryPrimitives.ReadUInt32BigEndian(content.Slice(at, 4));
}
