using System.Text;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Matching;

namespace Sagas.Components.Tests.ScanSessions;

public class When_extracting_text_from_pdfs
{
    private readonly TextExtractor _extractor = new(new ScanFilesOptions());

    [Fact]
    public void Should_read_every_page()
    {
        var pdf = TestFiles.Pdf(["Drawing sheet 1", "Bore HOLE-1 at 3 m"], ["nothing here"], ["Bore HOLE-77."]);

        var result = _extractor.Extract("drawing_456.pdf", pdf);

        Assert.True(result.Succeeded, result.Error?.Message);
        Assert.Equal(FileFormat.Pdf, result.Format);
        Assert.Contains("HOLE-1", result.Text, StringComparison.Ordinal);
        Assert.Contains("nothing here", result.Text, StringComparison.Ordinal);
        Assert.Contains("HOLE-77.", result.Text, StringComparison.Ordinal);
        Assert.False(result.Truncated);
    }

    [Fact]
    public void Should_keep_separate_lines_apart_so_codes_do_not_fuse()
    {
        var pdf = TestFiles.Pdf(["HOLE-1", "2 m below"]);
        var matcher = HoleCodeMatcher.Create(["HOLE-1", "HOLE-12"]);

        var result = FileScan.Run(_extractor, matcher, "a.pdf", pdf);

        Assert.Equal(["HOLE-1"], result.MatchedCodes);
        Assert.Equal("1 Code", result.Status);
    }

    [Fact]
    public void Should_stop_at_the_page_limit_and_say_so()
    {
        var extractor = new TextExtractor(new ScanFilesOptions { MaxPdfPages = 2 });
        var pdf = TestFiles.PdfPages("page one", "page two", "HOLE-3 on page three");

        var result = extractor.Extract("a.pdf", pdf);

        Assert.True(result.Succeeded);
        Assert.True(result.Truncated);
        Assert.Contains("page two", result.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("HOLE-3", result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_report_a_password_protected_pdf()
    {
        var result = _extractor.Extract("secret.pdf", TestFiles.EncryptedPdf());

        Assert.Equal(FileErrorKind.Encrypted, result.Error?.Kind);
        Assert.Equal(FileErrors.EncryptedPdf, result.Error?.Message);
    }

    [Fact]
    public void Should_report_a_corrupt_pdf()
    {
        var result = _extractor.Extract("broken.pdf", Encoding.ASCII.GetBytes("%PDF-1.4\ngarbage that is no PDF at all"));

        Assert.Equal(FileErrorKind.Corrupt, result.Error?.Kind);
        Assert.StartsWith("The PDF could not be read: ", result.Error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_a_file_named_pdf_that_is_not_one()
    {
        var result = _extractor.Extract("fake.PDF", Encoding.UTF8.GetBytes("HOLE-1 in plain text"));

        Assert.Equal(FileErrorKind.Corrupt, result.Error?.Kind);
        Assert.Equal("The file is named '.pdf' but its content is not a PDF.", result.Error?.Message);
    }

    [Fact]
    public void Should_read_a_pdf_whatever_its_name()
    {
        var result = _extractor.Extract("misnamed.txt", TestFiles.PdfPages("HOLE-5"));

        Assert.Equal(FileFormat.Pdf, result.Format);
        Assert.Contains("HOLE-5", result.Text, StringComparison.Ordinal);
    }
}

public class When_extracting_plain_text
{
    private readonly TextExtractor _extractor = new(new ScanFilesOptions());

    public static TheoryData<string, byte[]> Encodings => new()
    {
        { "utf8", Encoding.UTF8.GetBytes("café HOLE-1") },
        { "utf8-bom", [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes("café HOLE-1")] },
        { "utf16le-bom", [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("café HOLE-1")] },
        { "utf16be-bom", [.. Encoding.BigEndianUnicode.GetPreamble(), .. Encoding.BigEndianUnicode.GetBytes("café HOLE-1")] },
        { "utf32le-bom", [.. Encoding.UTF32.GetPreamble(), .. Encoding.UTF32.GetBytes("café HOLE-1")] },
        { "latin1", Encoding.Latin1.GetBytes("café HOLE-1") },
    };

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Should_detect_the_encoding(string label, byte[] content)
    {
        var result = _extractor.Extract($"{label}.txt", content);

        Assert.True(result.Succeeded, result.Error?.Message);
        Assert.Equal(FileFormat.PlainText, result.Format);
        Assert.Equal("café HOLE-1", result.Text);
    }

    [Theory]
    [InlineData("codes.csv")]
    [InlineData("codes.log")]
    [InlineData("codes.json")]
    [InlineData("codes.xml")]
    [InlineData("drawing.dxf")]
    [InlineData("README")]
    public void Should_read_text_files_by_extension_or_by_content(string name)
    {
        var result = _extractor.Extract(name, Encoding.UTF8.GetBytes("\"HOLE-1\",\"HOLE-2\""));

        Assert.Equal("\"HOLE-1\",\"HOLE-2\"", result.Text);
    }

    [Fact]
    public void Should_cut_text_at_the_limit_and_say_so()
    {
        var extractor = new TextExtractor(new ScanFilesOptions { MaxTextCharacters = 10 });

        var result = extractor.Extract("long.txt", Encoding.UTF8.GetBytes("0123456789HOLE-1"));

        Assert.True(result.Truncated);
        Assert.Equal("0123456789", result.Text);
    }

    [Fact]
    public void Should_report_an_empty_file()
    {
        var result = _extractor.Extract("empty.txt", Array.Empty<byte>());

        Assert.Equal(FileErrorKind.Empty, result.Error?.Kind);
        Assert.Equal("The file is empty.", result.Error?.Message);
    }

    [Fact]
    public void Should_refuse_a_file_over_the_size_limit()
    {
        var extractor = new TextExtractor(new ScanFilesOptions { MaxFileBytes = 10 });

        var result = extractor.Extract("big.txt", new byte[11]);

        Assert.Equal(FileErrorKind.TooLarge, result.Error?.Kind);
        Assert.Equal("The file is larger than 10 bytes (ScanSessions:Files:MaxFileBytes).", result.Error?.Message);
    }

    [Fact]
    public async Task Should_stop_reading_a_stream_past_the_size_limit()
    {
        var extractor = new TextExtractor(new ScanFilesOptions { MaxFileBytes = 100_000 });
        using var endless = new NonSeekableStream(new MemoryStream(new byte[10_000_000]));

        var result = await extractor.ExtractAsync("big.txt", endless);

        Assert.Equal(FileErrorKind.TooLarge, result.Error?.Kind);
        Assert.True(endless.BytesRead < 300_000, $"read {endless.BytesRead} bytes");
    }

    [Fact]
    public async Task Should_read_a_stream_within_the_limit()
    {
        using var stream = new NonSeekableStream(new MemoryStream(Encoding.UTF8.GetBytes("HOLE-9")));

        var result = await _extractor.ExtractAsync("a.txt", stream);

        Assert.Equal("HOLE-9", result.Text);
    }

    [Theory]
    [InlineData("image.gif", new byte[] { (byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'9', (byte)'a' }, "Unsupported file type (.gif): only PDF, plain text (.txt, .csv, .log, .json, .xml), .docx, .xlsx and PNG, JPEG or TIFF images (OCR) are scanned.")]
    [InlineData("binary.txt", new byte[] { 1, 2, 0, 0, 5, 6 }, "Unsupported file type (.txt): only PDF, plain text (.txt, .csv, .log, .json, .xml), .docx, .xlsx and PNG, JPEG or TIFF images (OCR) are scanned.")]
    [InlineData("noext", new byte[] { 0, 0, 0, 1 }, "Unsupported file type: only PDF, plain text (.txt, .csv, .log, .json, .xml), .docx, .xlsx and PNG, JPEG or TIFF images (OCR) are scanned.")]
    public void Should_refuse_binary_content(string name, byte[] content, string message)
    {
        var result = _extractor.Extract(name, content);

        Assert.Equal(FileErrorKind.Unsupported, result.Error?.Kind);
        Assert.Equal(message, result.Error?.Message);
    }

    [Fact]
    public void Should_let_cancellation_escape()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => _extractor.Extract("a.pdf", TestFiles.PdfPages("x"), cancelled.Token));
    }

    internal sealed class NonSeekableStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            BytesRead += read;
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

public class When_extracting_text_from_office_documents
{
    private readonly TextExtractor _extractor = new(new ScanFilesOptions());

    [Fact]
    public void Should_join_word_runs_and_keep_paragraphs_apart()
    {
        var docx = TestFiles.Docx([["Bore ", "HOLE-", "1", " logged"], ["HOLE-2"], ["3 m"]], header: "Project HOLE-9");
        var matcher = HoleCodeMatcher.Create(["HOLE-1", "HOLE-2", "HOLE-23", "HOLE-9"]);

        var result = FileScan.Run(_extractor, matcher, "report.docx", docx);

        Assert.Equal(FileFormat.Docx, result.Format);
        Assert.Equal(["HOLE-1", "HOLE-2", "HOLE-9"], result.MatchedCodes);
        Assert.Equal("3 Codes", result.Status);
    }

    [Fact]
    public void Should_read_strings_and_numbers_from_every_sheet()
    {
        var xlsx = TestFiles.Xlsx(workbook =>
        {
            var first = workbook.AddWorksheet("Holes");
            first.Cell(1, 1).SetValue("HOLE-1");
            first.Cell(1, 2).SetValue("HOLE-");
            first.Cell(1, 3).SetValue(2);
            var second = workbook.AddWorksheet("More");
            second.Cell(5, 5).SetValue("see hole-3");
            second.Cell(6, 1).SetValue(4711);
        });

        var result = _extractor.Extract("holes.xlsx", xlsx);

        Assert.True(result.Succeeded, result.Error?.Message);
        Assert.Equal(FileFormat.Xlsx, result.Format);
        Assert.Equal(["HOLE-1", "HOLE-3", "4711"], HoleCodeMatcher.Create(["HOLE-1", "HOLE-2", "HOLE-3", "4711"]).Match(result.Text).Codes);
    }

    [Fact]
    public void Should_refuse_a_document_with_a_dtd()
    {
        var docx = TestFiles.Zip(("word/document.xml", "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><d>&x;</d>"));

        var result = _extractor.Extract("xxe.docx", docx);

        Assert.Equal(FileErrorKind.Corrupt, result.Error?.Kind);
        Assert.StartsWith("The Word document could not be read: ", result.Error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_a_part_that_inflates_like_a_bomb()
    {
        var extractor = new TextExtractor(new ScanFilesOptions { MaxCompressionRatio = 50, CompressionRatioFloorBytes = 1024 });
        var docx = TestFiles.Zip(("word/document.xml", "<d><t>" + new string(' ', 2_000_000) + "</t></d>"));

        var result = extractor.Extract("bomb.docx", docx);

        Assert.Equal(FileErrorKind.TooLarge, result.Error?.Kind);
        Assert.Equal(FileErrors.CompressionRatio(50), result.Error?.Message);
    }

    [Fact]
    public void Should_refuse_a_part_over_the_part_limit()
    {
        var extractor = new TextExtractor(new ScanFilesOptions { MaxOfficePartBytes = 1000 });
        var docx = TestFiles.Docx([[TestFiles.Repeat("HOLE-1 ", 500)]]);

        var result = extractor.Extract("big.docx", docx);

        Assert.Equal(FileErrorKind.TooLarge, result.Error?.Kind);
    }

    [Fact]
    public void Should_report_an_encrypted_entry_inside_a_package()
    {
        var docx = TestFiles.MarkEncrypted(TestFiles.Docx([["HOLE-1"]]), "word/document.xml");

        var result = _extractor.Extract("locked.docx", docx);

        Assert.Equal(FileErrorKind.Encrypted, result.Error?.Kind);
    }

    [Fact]
    public void Should_report_a_password_protected_office_document()
    {
        var result = _extractor.Extract("locked.xlsx", TestFiles.EncryptedOfficePackage());

        Assert.Equal(FileErrorKind.Encrypted, result.Error?.Kind);
        Assert.Equal(FileErrors.EncryptedOffice, result.Error?.Message);
    }

    [Fact]
    public void Should_refuse_legacy_office_formats()
    {
        var result = _extractor.Extract("old.doc", TestFiles.LegacyOfficeDocument());

        Assert.Equal(FileErrorKind.Unsupported, result.Error?.Kind);
        Assert.Equal(FileErrors.LegacyOffice, result.Error?.Message);
    }

    [Fact]
    public void Should_not_expand_a_nested_zip()
    {
        var result = _extractor.Extract("inner.zip", TestFiles.Zip(("a.txt", "HOLE-1")));

        Assert.Equal(FileErrorKind.Unsupported, result.Error?.Kind);
        Assert.Equal(FileErrors.NestedArchive, result.Error?.Message);
    }

    [Fact]
    public void Should_report_a_zip_named_docx_without_a_document()
    {
        var result = _extractor.Extract("odd.docx", TestFiles.Zip(("a.txt", "HOLE-1")));

        Assert.Equal(FileErrorKind.Corrupt, result.Error?.Kind);
        Assert.Equal("The file is named '.docx' but its content is not a Word document.", result.Error?.Message);
    }

    [Fact]
    public void Should_report_a_broken_zip_container()
    {
        byte[] broken = [.. "PK\u0003\u0004"u8, .. new byte[200]];

        var result = _extractor.Extract("broken.xlsx", broken);

        Assert.Equal(FileErrorKind.Corrupt, result.Error?.Kind);
        Assert.StartsWith("The Excel workbook could not be read: ", result.Error?.Message, StringComparison.Ordinal);
    }
}

public class When_extracting_text_from_damaged_files
{
    private readonly TextExtractor _extractor = new(new ScanFilesOptions { MaxTextCharacters = 100_000 });

    public static TheoryData<string, int> Truncations()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in new[] { "a.pdf", "a.docx", "a.xlsx" })
        {
            foreach (var fraction in new[] { 5, 25, 50, 75, 95, 99 })
                data.Add(name, fraction);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Truncations))]
    public void Should_turn_a_truncated_file_into_a_result_not_an_exception(string name, int percent)
    {
        var whole = Path.GetExtension(name) switch
        {
            ".pdf" => TestFiles.PdfPages("HOLE-1 page", "HOLE-2 page", "HOLE-3 page"),
            ".docx" => TestFiles.Docx([["HOLE-1"], ["HOLE-2"]]),
            _ => TestFiles.Xlsx(workbook => workbook.AddWorksheet("S").Cell(1, 1).SetValue("HOLE-1")),
        };

        var result = _extractor.Extract(name, whole.AsMemory(0, whole.Length * percent / 100));

        Assert.True(result.Succeeded || result.Error!.Message.Length > 0);
    }

    [Fact]
    public void Should_survive_random_bytes_behind_every_known_header()
    {
        var random = new Random(20260120);
        byte[][] headers = [[.. "%PDF-1.7\n"u8], [.. "PK\u0003\u0004"u8], [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], [0xEF, 0xBB, 0xBF], []];
        foreach (var header in headers)
        {
            for (var i = 0; i < 40; i++)
            {
                var noise = new byte[random.Next(0, 4096)];
                random.NextBytes(noise);
                byte[] content = [.. header, .. noise];
                var result = _extractor.Extract("noise.bin", content);
                Assert.True(result.Succeeded || result.Error!.Message.Length > 0);
            }
        }
    }
}
