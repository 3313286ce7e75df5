using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace Sagas.Components.Tests.ScanSessions;

/// <summary>A grey raster: one byte per pixel, 0 black, 255 white.</summary>
internal sealed record GreyImage(int Width, int Height, byte[] Pixels);

/// <summary>
/// Builds scanned-looking files inside the test: the text is typeset in a PDF, rasterised by poppler at the chosen
/// resolution, turned slightly and speckled here, then passed through JPEG at a low quality, so the OCR sees blur,
/// noise, rotation and block artefacts the way a scanner leaves them. Needs <c>pdftoppm</c> (poppler-utils).
/// </summary>
internal static class ScannedFiles
{
    /// <param name="Small">An A6 page instead of A4: a quarter of the pixels, for specs that only need a few lines.</param>
    /// <param name="Label">A 4 × 2 inch label instead (wins over <paramref name="Small"/>): a tenth of A6's area, for runs of hundreds of scans.</param>
    public sealed record Look(int Dpi, double RotationDegrees = 0.6, double Noise = 0.02, int JpegQuality = 45, int Seed = 1, bool Small = true, bool Label = false);

    /// <summary>One page: its lines typeset at <paramref name="fontSize"/> points, top to bottom, then scanned.</summary>
    public static GreyImage ScanPage(IReadOnlyList<string> lines, Look look, double fontSize = 11)
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        var page = look.Label ? builder.AddPage(288, 144) : builder.AddPage(look.Small ? PageSize.A6 : PageSize.A4);
        var y = look.Label ? 144.0 - 30 : (look.Small ? 420.0 : 842.0) - 62;
        foreach (var line in lines)
        {
            page.AddText(line, fontSize, new PdfPoint(look.Label || look.Small ? 20 : 50, y), font);
            y -= fontSize * 1.8;
        }

        var clean = Pgm(Run("pdftoppm", builder.Build(), "-r", look.Dpi.ToString(CultureInfo.InvariantCulture), "-gray", "-singlefile"));
        var noisy = Speckle(Rotate(clean, look.RotationDegrees), look.Noise, look.Seed);
        return Decode(Jpeg(noisy, look.Dpi, look.JpegQuality), look.Dpi);
    }

    /// <summary>The scanned page as a JPEG file (the scanner's own output).</summary>
    public static byte[] Jpeg(GreyImage image, int dpi, int quality = 45) =>
        Run("pdftoppm", ImagePdf(image, dpi), "-r", dpi.ToString(CultureInfo.InvariantCulture), "-gray", "-singlefile", "-jpeg", "-jpegopt", "quality=" + quality.ToString(CultureInfo.InvariantCulture));

    public static byte[] Png(GreyImage image, int dpi) =>
        Run("pdftoppm", ImagePdf(image, dpi), "-r", dpi.ToString(CultureInfo.InvariantCulture), "-gray", "-singlefile", "-png");

    /// <summary>An image-only PDF: every page one JPEG, no text layer, as a scanner's "scan to PDF" writes it.</summary>
    public static byte[] ImageOnlyPdf(IReadOnlyList<GreyImage> pages, int dpi)
    {
        var jpegs = pages.Select(page => (page, Jpeg(page, dpi))).ToList();
        var objects = new List<byte[]>();
        var kids = new StringBuilder();
        for (var i = 0; i < jpegs.Count; i++)
        {
            var pageObject = 3 + (i * 3);
            kids.Append(CultureInfo.InvariantCulture, $"{pageObject} 0 R ");
        }

        objects.Add(Ascii("<< /Type /Catalog /Pages 2 0 R >>"));
        objects.Add(Ascii($"<< /Type /Pages /Kids [{kids}] /Count {jpegs.Count} >>"));
        for (var i = 0; i < jpegs.Count; i++)
        {
            var (image, jpeg) = jpegs[i];
            var pageObject = 3 + (i * 3);
            var width = image.Width * 72.0 / dpi;
            var height = image.Height * 72.0 / dpi;
            var content = Ascii(string.Create(CultureInfo.InvariantCulture, $"q {width:0.###} 0 0 {height:0.###} 0 0 cm /Im0 Do Q"));
            objects.Add(Ascii(string.Create(CultureInfo.InvariantCulture,
                $"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:0.###} {height:0.###}] /Resources << /XObject << /Im0 {pageObject + 2} 0 R >> >> /Contents {pageObject + 1} 0 R >>")));
            objects.Add(Stream($"<< /Length {content.Length} >>", content));
            objects.Add(Stream(
                string.Create(CultureInfo.InvariantCulture, $"<< /Type /XObject /Subtype /Image /Width {image.Width} /Height {image.Height} /ColorSpace {ColorSpace(jpeg)} /BitsPerComponent 8 /Filter /DCTDecode /Length {jpeg.Length} >>"),
                jpeg));
        }

        return Document(objects);
    }

    /// <summary>An uncompressed 8-bit grey TIFF with one frame per image (a multi-page scan).</summary>
    public static byte[] Tiff(IReadOnlyList<GreyImage> frames)
    {
        using var output = new MemoryStream();
        using var writer = new BinaryWriter(output);
        writer.Write("II*\0"u8);
        writer.Write(0u);
        var previousNextOffset = 4L;
        foreach (var frame in frames)
        {
            var dataOffset = output.Position;
            writer.Write(frame.Pixels);
            if (output.Position % 2 == 1)
                writer.Write((byte)0);
            var ifdOffset = output.Position;
            output.Position = previousNextOffset;
            writer.Write((uint)ifdOffset);
            output.Position = ifdOffset;
            (ushort Tag, ushort Type, uint Value)[] entries =
            [
                (256, 4, (uint)frame.Width), (257, 4, (uint)frame.Height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
                (273, 4, (uint)dataOffset), (277, 3, 1), (278, 4, (uint)frame.Height), (279, 4, (uint)frame.Pixels.Length),
            ];
            writer.Write((ushort)entries.Length);
            foreach (var (tag, type, value) in entries)
            {
                writer.Write(tag);
                writer.Write(type);
                writer.Write(1u);
                if (type == 3)
                {
                    writer.Write((ushort)value);
                    writer.Write((ushort)0);
                }
                else
                {
                    writer.Write(value);
                }
            }

            previousNextOffset = output.Position;
            writer.Write(0u);
        }

        writer.Flush();
        return output.ToArray();
    }

    /// <summary>A PDF whose page shows a raw (Flate) grey image: input for poppler's encoders.</summary>
    private static byte[] ImagePdf(GreyImage image, int dpi)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            zlib.Write(image.Pixels);
        var data = compressed.ToArray();
        var width = image.Width * 72.0 / dpi;
        var height = image.Height * 72.0 / dpi;
        var content = Ascii(string.Create(CultureInfo.InvariantCulture, $"q {width:0.###} 0 0 {height:0.###} 0 0 cm /Im0 Do Q"));
        return Document(
        [
            Ascii("<< /Type /Catalog /Pages 2 0 R >>"),
            Ascii("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            Ascii(string.Create(CultureInfo.InvariantCulture, $"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:0.###} {height:0.###}] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>")),
            Stream($"<< /Length {content.Length} >>", content),
            Stream(string.Create(CultureInfo.InvariantCulture, $"<< /Type /XObject /Subtype /Image /Width {image.Width} /Height {image.Height} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length {data.Length} >>"), data),
        ]);
    }

    private static GreyImage Decode(byte[] jpeg, int dpi)
    {
        // Back to pixels through poppler too: an image-only PDF of the JPEG, rasterised at its own resolution.
        var info = Sagas.ScanSessions.Ocr.ImageHeader.Read(jpeg, 1) ?? throw new InvalidOperationException("pdftoppm wrote no JPEG.");
        var objects = new List<byte[]>
        {
            Ascii("<< /Type /Catalog /Pages 2 0 R >>"),
            Ascii("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        };
        var width = info.Width * 72.0 / dpi;
        var height = info.Height * 72.0 / dpi;
        var content = Ascii(string.Create(CultureInfo.InvariantCulture, $"q {width:0.###} 0 0 {height:0.###} 0 0 cm /Im0 Do Q"));
        objects.Add(Ascii(string.Create(CultureInfo.InvariantCulture, $"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:0.###} {height:0.###}] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>")));
        objects.Add(Stream($"<< /Length {content.Length} >>", content));
        objects.Add(Stream(string.Create(CultureInfo.InvariantCulture, $"<< /Type /XObject /Subtype /Image /Width {info.Width} /Height {info.Height} /ColorSpace {ColorSpace(jpeg)} /BitsPerComponent 8 /Filter /DCTDecode /Length {jpeg.Length} >>"), jpeg));
        return Pgm(Run("pdftoppm", Document(objects), "-r", dpi.ToString(CultureInfo.InvariantCulture), "-gray", "-singlefile"));
    }

    private static GreyImage Rotate(GreyImage source, double degrees)
    {
        var radians = degrees * Math.PI / 180;
        var (sin, cos) = Math.SinCos(radians);
        var pixels = new byte[source.Pixels.Length];
        var cx = source.Width / 2.0;
        var cy = source.Height / 2.0;
        for (var y = 0; y < source.Height; y++)
        {
            for (var x = 0; x < source.Width; x++)
            {
                var sx = (cos * (x - cx)) + (sin * (y - cy)) + cx;
                var sy = (-sin * (x - cx)) + (cos * (y - cy)) + cy;
                var x0 = (int)Math.Floor(sx);
                var y0 = (int)Math.Floor(sy);
                if (x0 < 0 || y0 < 0 || x0 + 1 >= source.Width || y0 + 1 >= source.Height)
                {
                    pixels[(y * source.Width) + x] = 255;
                    continue;
                }

                var fx = sx - x0;
                var fy = sy - y0;
                var top = (source.Pixels[(y0 * source.Width) + x0] * (1 - fx)) + (source.Pixels[(y0 * source.Width) + x0 + 1] * fx);
                var bottom = (source.Pixels[((y0 + 1) * source.Width) + x0] * (1 - fx)) + (source.Pixels[((y0 + 1) * source.Width) + x0 + 1] * fx);
                pixels[(y * source.Width) + x] = (byte)Math.Clamp((top * (1 - fy)) + (bottom * fy), 0, 255);
            }
        }

        return source with { Pixels = pixels };
    }

    /// <summary>Grain on every pixel plus a share of dark and light specks, as dust and paper texture leave them.</summary>
    private static GreyImage Speckle(GreyImage source, double specks, int seed)
    {
        var random = new Random(seed);
        var pixels = (byte[])source.Pixels.Clone();
        for (var i = 0; i < pixels.Length; i++)
        {
            var value = pixels[i] + random.Next(-18, 19);
            var roll = random.NextDouble();
            if (roll < specks / 2)
                value = random.Next(0, 110);
            else if (roll < specks)
                value = random.Next(200, 256);
            pixels[i] = (byte)Math.Clamp(value, 0, 255);
        }

        return source with { Pixels = pixels };
    }

    /// <summary>pdftoppm writes three-component JPEGs even with <c>-gray</c>; the PDF must declare what the JPEG holds.</summary>
    private static string ColorSpace(byte[] jpeg)
    {
        var position = 2;
        while (position + 9 < jpeg.Length)
        {
            var marker = jpeg[position + 1];
            if (marker is >= 0xC0 and <= 0xC3)
                return jpeg[position + 9] == 1 ? "/DeviceGray" : "/DeviceRGB";
            position += 2 + ((jpeg[position + 2] << 8) | jpeg[position + 3]);
        }

        throw new InvalidOperationException("The JPEG has no frame header.");
    }

    private static GreyImage Pgm(byte[] pgm)
    {
        if (pgm[0] != (byte)'P' || pgm[1] != (byte)'5')
            throw new InvalidOperationException("pdftoppm did not write a grey (P5) image.");
        // "P5", width, height, max value, each followed by white space, then the bytes.
        var fields = new List<int>();
        var position = 2;
        while (fields.Count < 3)
        {
            while (char.IsWhiteSpace((char)pgm[position]))
                position++;
            var start = position;
            while (!char.IsWhiteSpace((char)pgm[position]))
                position++;
            fields.Add(int.Parse(Encoding.ASCII.GetString(pgm, start, position - start), CultureInfo.InvariantCulture));
        }

        position++;
        return new GreyImage(fields[0], fields[1], pgm[position..(position + (fields[0] * fields[1]))]);
    }

    private static byte[] Run(string tool, byte[] input, params string[] arguments)
    {
        var folder = Path.Combine(Path.GetTempPath(), "sagas-scanned-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var pdf = Path.Combine(folder, "in.pdf");
            File.WriteAllBytes(pdf, input);
            var start = new ProcessStartInfo(tool) { RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in arguments)
                start.ArgumentList.Add(argument);
            start.ArgumentList.Add(pdf);
            start.ArgumentList.Add(Path.Combine(folder, "out"));
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            var output = Directory.GetFiles(folder, "out*").SingleOrDefault();
            if (process.ExitCode != 0 || output is null)
                throw new InvalidOperationException($"{tool} failed ({process.ExitCode}): {error}");
            return File.ReadAllBytes(output);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    private static byte[] Stream(string dictionary, byte[] data) =>
        [.. Ascii(dictionary + "\nstream\n"), .. data, .. Ascii("\nendstream")];

    private static byte[] Document(IReadOnlyList<byte[]> objects)
    {
        using var output = new MemoryStream();
        output.Write(Ascii("%PDF-1.4\n%\u00e2\u00e3\n"));
        var offsets = new List<long>();
        for (var i = 0; i < objects.Count; i++)
        {
            offsets.Add(output.Position);
            output.Write(Ascii(string.Create(CultureInfo.InvariantCulture, $"{i + 1} 0 obj\n")));
            output.Write(objects[i]);
            output.Write(Ascii("\nendobj\n"));
        }

        var xref = output.Position;
        var table = new StringBuilder();
        table.Append(CultureInfo.InvariantCulture, $"xref\n0 {objects.Count + 1}\n0000000000 65535 f \n");
        foreach (var offset in offsets)
            table.Append(CultureInfo.InvariantCulture, $"{offset:0000000000} 00000 n \n");
        table.Append(CultureInfo.InvariantCulture, $"trailer\n<< /Size {objects.Count + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        output.Write(Ascii(table.ToString()));
        return output.ToArray();
    }
}
