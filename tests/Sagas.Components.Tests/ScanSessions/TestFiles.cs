using System.Globalization;
using System.IO.Compression;
using System.Security;
using System.Text;
using ClosedXML.Excel;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace Sagas.Components.Tests.ScanSessions;

/// <summary>Builds the files scan sessions read (PDF, docx, xlsx, ZIP), including hostile ones, inside the test.</summary>
internal static class TestFiles
{
    /// <summary>A PDF with one page per entry; each page's lines are drawn top to bottom.</summary>
    public static byte[] Pdf(params string[][] pages)
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        foreach (var lines in pages)
        {
            var page = builder.AddPage(PageSize.A4);
            var y = 780.0;
            foreach (var line in lines)
            {
                page.AddText(line, 11, new PdfPoint(40, y), font);
                y -= 16;
            }
        }

        return builder.Build();
    }

    public static byte[] PdfPages(params string[] pageTexts) => Pdf([.. pageTexts.Select(text => new[] { text })]);

    /// <summary>A hand-written PDF whose standard security handler rejects the empty user password.</summary>
    public static byte[] EncryptedPdf()
    {
        var key = string.Concat(Enumerable.Repeat("AB", 32));
        return HandWrittenPdf(
            "/Encrypt 6 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>]",
            $"<< /Filter /Standard /V 1 /R 2 /O <{key}> /U <{key}> /P -4 >>");
    }

    public static byte[] Docx(IEnumerable<string[]> paragraphsOfRuns, string? header = null)
    {
        const string W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
        var body = new StringBuilder();
        foreach (var runs in paragraphsOfRuns)
        {
            body.Append("<w:p>");
            foreach (var run in runs)
                body.Append(CultureInfo.InvariantCulture, $"<w:r><w:t xml:space=\"preserve\">{SecurityElement.Escape(run)}</w:t></w:r>");
            body.Append("</w:p>");
        }

        var parts = new Dictionary<string, string>
        {
            ["[Content_Types].xml"] = "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>",
            ["word/document.xml"] = $"<?xml version=\"1.0\"?><w:document xmlns:w=\"{W}\"><w:body>{body}</w:body></w:document>",
        };
        if (header is not null)
            parts["word/header1.xml"] = $"<?xml version=\"1.0\"?><w:hdr xmlns:w=\"{W}\"><w:p><w:r><w:t>{SecurityElement.Escape(header)}</w:t></w:r></w:p></w:hdr>";

        return Zip(parts.Select(part => (part.Key, Encoding.UTF8.GetBytes(part.Value))));
    }

    public static byte[] Xlsx(Action<XLWorkbook> fill)
    {
        using var workbook = new XLWorkbook();
        fill(workbook);
        using var stream = new MemoryStream();
        workbook.SaveAs(stream);
        return stream.ToArray();
    }

    public static byte[] Zip(IEnumerable<(string Name, byte[] Content)> entries, CompressionLevel level = CompressionLevel.Optimal)
    {
        using var stream = new MemoryStream();
        using (var archive = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                var entry = archive.CreateEntry(name, level);
                using var entryStream = entry.Open();
                entryStream.Write(content);
            }
        }

        return stream.ToArray();
    }

    public static byte[] Zip(params (string Name, string Text)[] entries) =>
        Zip(entries.Select(entry => (entry.Name, Encoding.UTF8.GetBytes(entry.Text))));

    /// <summary>Sets the "encrypted" flag of the named entries in both the local and the central headers.</summary>
    public static byte[] MarkEncrypted(byte[] zip, params string[] entryNames)
    {
        var bytes = (byte[])zip.Clone();
        for (var i = 0; i + 46 < bytes.Length; i++)
        {
            if (bytes[i] == 0x50 && bytes[i + 1] == 0x4B && bytes[i + 2] == 1 && bytes[i + 3] == 2)
            {
                var nameLength = BitConverter.ToUInt16(bytes, i + 28);
                var name = Encoding.UTF8.GetString(bytes, i + 46, nameLength);
                if (!entryNames.Contains(name))
                    continue;

                bytes[i + 8] |= 1;
                var localHeader = BitConverter.ToInt32(bytes, i + 42);
                bytes[localHeader + 6] |= 1;
            }
        }

        return bytes;
    }

    /// <summary>What an encrypted .docx/.xlsx really is: a compound file holding an "EncryptedPackage" stream.</summary>
    public static byte[] EncryptedOfficePackage()
    {
        var bytes = new byte[4096];
        byte[] magic = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        magic.CopyTo(bytes, 0);
        Encoding.Unicode.GetBytes("EncryptedPackage").CopyTo(bytes, 1024);
        return bytes;
    }

    public static byte[] LegacyOfficeDocument()
    {
        var bytes = new byte[4096];
        byte[] magic = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        magic.CopyTo(bytes, 0);
        Encoding.Unicode.GetBytes("WordDocument").CopyTo(bytes, 1024);
        return bytes;
    }

    public static string Repeat(string text, int times) => string.Concat(Enumerable.Repeat(text, times));

    private static byte[] HandWrittenPdf(string trailerExtra, string sixthObject)
    {
        string[] objects =
        [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            "<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 712 Td (HOLE-1 text) Tj ET\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            sixthObject,
        ];
        var pdf = new StringBuilder("%PDF-1.4\n");
        var offsets = new List<int>();
        for (var i = 0; i < objects.Length; i++)
        {
            offsets.Add(pdf.Length);
            pdf.Append(CultureInfo.InvariantCulture, $"{i + 1} 0 obj\n{objects[i]}\nendobj\n");
        }

        var xref = pdf.Length;
        pdf.Append(CultureInfo.InvariantCulture, $"xref\n0 {objects.Length + 1}\n0000000000 65535 f \n");
        foreach (var offset in offsets)
            pdf.Append(CultureInfo.InvariantCulture, $"{offset:D10} 00000 n \n");
        pdf.Append(CultureInfo.InvariantCulture, $"trailer\n<< /Size {objects.Length + 1} /Root 1 0 R {trailerExtra} >>\nstartxref\n{xref}\n%%EOF\n");
        return Encoding.Latin1.GetBytes(pdf.ToString());
    }
}
