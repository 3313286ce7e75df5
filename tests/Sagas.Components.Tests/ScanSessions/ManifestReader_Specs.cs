using System.Text;
using ClosedXML.Excel;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Sources;

namespace Sagas.Components.Tests.ScanSessions;

public class When_reading_a_manifest
{
    private const string IdA = "1AbCdEfGhIjKlMnOpQrStUvWxYz012345";
    private const string IdB = "1ZyXwVuTsRqPoNmLkJiHgFeDcBa987654";
    private const string IdC = "0B_abcdefghijklmnopqrstu-vw";

    private readonly ManifestReader _reader = new(new ScanFilesOptions());

    [Fact]
    public void Should_read_drive_ids_drive_links_and_urls_from_a_csv()
    {
        var csv = $"""
            File Name,Google Drive Link
            a.pdf,https://drive.google.com/file/d/{IdA}/view?usp=sharing
            b.pdf,https://drive.google.com/open?id={IdB}
            c.pdf,https://drive.google.com/uc?id={IdC}&export=download
            d.pdf,{IdA}
            e.pdf,https://files.example.com/drawings/e.pdf?sig=1
            f.docx,https://docs.google.com/document/d/{IdB}/edit
            """;

        var listing = _reader.Read("manifest.csv", Encoding.UTF8.GetBytes(csv));

        Assert.True(listing.Succeeded, listing.Error);
        Assert.Empty(listing.Problems);
        Assert.Equal(
            [
                new FileReference("a.pdf", FileReferenceKind.DriveFile, IdA),
                new FileReference("b.pdf", FileReferenceKind.DriveFile, IdB),
                new FileReference("c.pdf", FileReferenceKind.DriveFile, IdC),
                new FileReference("d.pdf", FileReferenceKind.DriveFile, IdA),
                new FileReference("e.pdf", FileReferenceKind.Url, "https://files.example.com/drawings/e.pdf?sig=1"),
                new FileReference("f.docx", FileReferenceKind.DriveFile, IdB),
            ],
            listing.Files);
    }

    [Theory]
    [InlineData("file_name;LINK", ';')]
    [InlineData("  FileName \tDrive ID", '\t')]
    [InlineData("\"Name\",\"URL\"", ',')]
    public void Should_find_the_header_whatever_its_spelling_and_delimiter(string header, char delimiter)
    {
        var csv = $"Holes manifest, exported\n{header}\nx.pdf{delimiter}{IdA}\n";

        var listing = _reader.Read("m.csv", Encoding.UTF8.GetBytes(csv));

        var file = Assert.Single(listing.Files);
        Assert.Equal("x.pdf", file.Name);
        Assert.Equal(IdA, file.Locator);
    }

    [Fact]
    public void Should_list_bad_rows_as_error_files_with_their_numbers_beside_the_good_ones()
    {
        var csv = $"""
            Link,Name
            {IdA},good.pdf
            ,missing-link.pdf
            ftp://example.com/x.pdf,ftp.pdf
            https://drive.google.com/drive/folders/{IdB},folder
            not a link,words.pdf
            https://user:pw@example.com/x.pdf,creds.pdf

            "https://example.com/a,b.pdf","quoted, name.pdf"
            """;

        var listing = _reader.Read("m.csv", Encoding.UTF8.GetBytes(csv));

        Assert.Equal(
            ["good.pdf", "missing-link.pdf", "ftp.pdf", "folder", "words.pdf", "creds.pdf", "quoted, name.pdf"],
            listing.Files.Select(file => file.Name));
        Assert.Equal(["good.pdf", "quoted, name.pdf"], listing.Files.Where(file => file.Error is null).Select(file => file.Name));
        Assert.Equal(listing.Problems.Select(problem => problem.Message), listing.Files.Where(file => file.Error is not null).Select(file => file.Error!.Message));
        Assert.All(listing.Files.Where(file => file.Error is not null), file => Assert.Equal("", file.Locator));
        Assert.Equal([3, 4, 5, 6, 7], listing.Problems.Select(problem => problem.Row!.Value));
        Assert.Equal("Row 3: no link or Drive file id.", listing.Problems[0].Message);
        Assert.Equal("Row 4: 'ftp://example.com/x.pdf' is neither a Google Drive link, a Drive file id nor an http(s) URL.", listing.Problems[1].Message);
        Assert.Contains("is a Drive folder, not a file", listing.Problems[2].Message, StringComparison.Ordinal);
        Assert.Contains("carries credentials", listing.Problems[4].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_a_manifest_without_a_usable_row()
    {
        var listing = _reader.Read("m.csv", Encoding.UTF8.GetBytes("Name,Link\na.pdf,nope\n"));

        Assert.False(listing.Succeeded);
        Assert.Equal("The manifest lists no usable file. Row 2: 'nope' is neither a Google Drive link, a Drive file id nor an http(s) URL.", listing.Error);
        Assert.Single(listing.Problems);
        Assert.Equal("The manifest lists no file: it has no data rows.", _reader.Read("m.csv", "Name,Link\n"u8.ToArray()).Error);
    }

    [Fact]
    public void Should_refuse_a_manifest_over_the_row_limit()
    {
        var reader = new ManifestReader(new ScanFilesOptions { MaxManifestRows = 3 });
        var csv = "Name,Link\n" + string.Concat(Enumerable.Range(1, 4).Select(n => $"f{n}.pdf,{IdA}\n"));

        var listing = reader.Read("m.csv", Encoding.UTF8.GetBytes(csv));

        Assert.Equal("The manifest has more than 3 rows (ScanSessions:Files:MaxManifestRows).", listing.Error);
    }

    [Fact]
    public void Should_refuse_a_csv_longer_than_the_text_limit()
    {
        var reader = new ManifestReader(new ScanFilesOptions { MaxTextCharacters = 50 });
        var csv = "Name,Link\n" + string.Concat(Enumerable.Range(1, 3).Select(n => $"f{n}.pdf,{IdA}\n"));

        var listing = reader.Read("m.csv", Encoding.UTF8.GetBytes(csv));

        Assert.Equal("The manifest is longer than 50 characters (ScanSessions:Files:MaxTextCharacters).", listing.Error);
    }

    [Fact]
    public void Should_name_rows_without_a_name_after_their_link_and_tell_duplicates_apart()
    {
        var csv = $"Name,Link\n,https://example.com/files/plan%20A.pdf\n,{IdA}\nplan A.pdf,{IdB}\n";

        var listing = _reader.Read("m.csv", Encoding.UTF8.GetBytes(csv));

        Assert.Equal(["plan A.pdf", IdA, "plan A (2).pdf"], listing.Files.Select(file => file.Name));
    }

    [Fact]
    public void Should_read_a_headerless_list_of_links()
    {
        var csv = $"a.pdf,https://drive.google.com/file/d/{IdA}/view\nb.pdf,{IdB}\n";

        var listing = _reader.Read("m.csv", Encoding.UTF8.GetBytes(csv));

        Assert.Equal(["a.pdf", "b.pdf"], listing.Files.Select(file => file.Name));
    }

    [Fact]
    public void Should_read_an_xlsx_manifest_with_hyperlinks_and_hyperlink_formulas()
    {
        var xlsx = TestFiles.Xlsx(workbook =>
        {
            workbook.AddWorksheet("Notes").Cell(1, 1).SetValue("nothing to see");
            var sheet = workbook.AddWorksheet("Files");
            sheet.Cell(1, 1).SetValue("PDF Name");
            sheet.Cell(1, 2).SetValue("Drive link / ID");
            sheet.Cell(2, 1).SetValue("plain.pdf");
            sheet.Cell(2, 2).SetValue(IdA);
            sheet.Cell(3, 1).SetValue("linked.pdf");
            sheet.Cell(3, 2).SetValue("open");
            sheet.Cell(3, 2).Hyperlink = new XLHyperlink(new Uri($"https://drive.google.com/file/d/{IdB}/view"));
            sheet.Cell(4, 1).SetValue("formula.pdf");
            sheet.Cell(4, 2).FormulaA1 = $"HYPERLINK(\"https://drive.google.com/open?id={IdC}\",\"open\")";
            sheet.Cell(6, 1).SetValue("bad.pdf");
            sheet.Cell(6, 2).SetValue("??");
        });

        var listing = _reader.Read("manifest.xlsx", xlsx);

        Assert.True(listing.Succeeded, listing.Error);
        Assert.Equal(
            [("plain.pdf", IdA), ("linked.pdf", IdB), ("formula.pdf", IdC), ("bad.pdf", "")],
            listing.Files.Select(file => (file.Name, file.Locator)));
        Assert.Equal(6, Assert.Single(listing.Problems).Row);
    }

    [Fact]
    public void Should_refuse_a_workbook_that_inflates_like_a_bomb()
    {
        var reader = new ManifestReader(new ScanFilesOptions { MaxCompressionRatio = 5, CompressionRatioFloorBytes = 1000 });
        var xlsx = TestFiles.Xlsx(workbook =>
        {
            var sheet = workbook.AddWorksheet("Files");
            sheet.Cell(1, 1).SetValue("Name");
            sheet.Cell(1, 2).SetValue("Link");
            for (var row = 2; row < 3000; row++)
            {
                sheet.Cell(row, 1).SetValue("same.pdf");
                sheet.Cell(row, 2).SetValue(IdA);
            }
        });

        var listing = reader.Read("m.xlsx", xlsx);

        Assert.False(listing.Succeeded);
        Assert.StartsWith("The manifest workbook was refused: The entry compresses more than 5:1", listing.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[0], ManifestReader.EmptyManifest)]
    [InlineData(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0, 0 }, ManifestReader.UnknownFormat)]
    public void Should_refuse_what_is_not_a_manifest(byte[] content, string error)
    {
        Assert.Equal(error, _reader.Read("m", content).Error);
    }

    [Fact]
    public void Should_refuse_a_damaged_workbook()
    {
        var xlsx = TestFiles.Xlsx(workbook => workbook.AddWorksheet("S").Cell(1, 1).SetValue("Name"));

        var listing = _reader.Read("m.xlsx", xlsx.AsMemory(0, xlsx.Length / 2));

        Assert.False(listing.Succeeded);
        Assert.StartsWith("The manifest workbook could not be read: ", listing.Error, StringComparison.Ordinal);
    }
}

public class When_classifying_file_content
{
    private const string IdA = "1AbCdEfGhIjKlMnOpQrStUvWxYz012345";

    private readonly FileContentSource _source;

    public When_classifying_file_content()
    {
        var options = new ScanFilesOptions();
        _source = new FileContentSource(options, new ManifestReader(options), new UploadSource(options));
    }

    [Fact]
    public void Should_recognise_a_csv_manifest()
    {
        var listing = AssertKind(Encoding.UTF8.GetBytes($"file name,link\na.pdf,{IdA}\n"), FileContentKind.Manifest, "manifest.csv");

        Assert.Equal(FileReferenceKind.DriveFile, Assert.Single(listing.Files).Kind);
    }

    [Fact]
    public void Should_recognise_an_xlsx_manifest()
    {
        var xlsx = TestFiles.Xlsx(workbook =>
        {
            var sheet = workbook.AddWorksheet("S");
            sheet.Cell(1, 1).SetValue("File Name");
            sheet.Cell(1, 2).SetValue("File ID");
            sheet.Cell(2, 1).SetValue("a.pdf");
            sheet.Cell(2, 2).SetValue(IdA);
        });

        var listing = AssertKind(xlsx, FileContentKind.Manifest, "manifest.xlsx");

        Assert.Equal("a.pdf", Assert.Single(listing.Files).Name);
    }

    [Fact]
    public void Should_recognise_a_zip_of_files()
    {
        var listing = AssertKind(TestFiles.Zip(("a.txt", "HOLE-1"), ("b.txt", "HOLE-2")), FileContentKind.Archive, "upload.zip");

        Assert.Equal(["upload:0/entry:0", "upload:0/entry:1"], listing.Files.Select(file => file.Locator));
    }

    [Fact]
    public void Should_treat_other_content_as_one_file()
    {
        AssertKind(TestFiles.PdfPages("HOLE-1"), FileContentKind.SingleFile, "upload.pdf");
        AssertKind(TestFiles.Docx([["HOLE-1"]]), FileContentKind.SingleFile, "upload.docx");
        AssertKind(TestFiles.Xlsx(workbook => workbook.AddWorksheet("S").Cell(1, 1).SetValue("HOLE-1")), FileContentKind.SingleFile, "upload.xlsx");
        var listing = AssertKind("Borehole log HOLE-1"u8.ToArray(), FileContentKind.SingleFile, "upload.txt");

        Assert.Equal(new FileReference("upload.txt", FileReferenceKind.UploadEntry, "upload:0"), Assert.Single(listing.Files));
    }

    [Fact]
    public void Should_accept_data_urls_line_breaks_and_url_safe_base64()
    {
        var bytes = new byte[] { 0xFB, 0xFF, 0xBF, (byte)'H', (byte)'O' };
        var standard = Convert.ToBase64String(bytes);
        var urlSafe = standard.Replace('+', '-').Replace('/', '_').TrimEnd('=');

        Assert.True(_source.TryClassify($"data:application/octet-stream;base64,{standard[..4]}\n{standard[4..]}", null, out var first, out _));
        Assert.True(_source.TryClassify(urlSafe, null, out var second, out _));
        Assert.Equal(bytes, first!.Content);
        Assert.Equal(bytes, second!.Content);
    }

    [Theory]
    [InlineData(null, FileContentSource.Missing)]
    [InlineData("   ", FileContentSource.Missing)]
    [InlineData("not base64 !!!", FileContentSource.NotBase64)]
    [InlineData("QQ=Q", FileContentSource.NotBase64)]
    [InlineData("data:application/pdf;base64,", FileContentSource.DecodesToNothing)]
    public void Should_refuse_empty_or_undecodable_content(string? content, string error)
    {
        Assert.False(_source.TryClassify(content, null, out _, out var actual));
        Assert.Equal(error, actual);
        Assert.Equal(error, _source.List(content).Error);
    }

    [Fact]
    public void Should_refuse_content_over_the_upload_limit()
    {
        var options = new ScanFilesOptions { MaxUploadBytes = 10 };
        var source = new FileContentSource(options, new ManifestReader(options), new UploadSource(options));

        Assert.False(source.TryClassify(Convert.ToBase64String(new byte[30]), null, out _, out var error));
        Assert.Equal("file_content is larger than 10 bytes (ScanSessions:Files:MaxUploadBytes).", error);
    }

    [Fact]
    public void Should_keep_a_given_file_name()
    {
        var listing = _source.List(Convert.ToBase64String(TestFiles.PdfPages("x")), "drawing_456.pdf");

        Assert.Equal("drawing_456.pdf", Assert.Single(listing.Files).Name);
    }

    private SourceListing AssertKind(byte[] content, FileContentKind kind, string name)
    {
        var base64 = Convert.ToBase64String(content);
        Assert.True(_source.TryClassify(base64, null, out var classification, out var error), error);
        Assert.Equal(kind, classification!.Kind);
        Assert.Equal(name, classification.FileName);
        Assert.Equal(content, classification.Content);

        var listing = _source.List(base64);
        Assert.True(listing.Succeeded, listing.Error);
        return listing;
    }
}
