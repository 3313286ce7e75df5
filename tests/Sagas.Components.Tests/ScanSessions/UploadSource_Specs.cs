using System.IO.Compression;
using System.Text;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Sources;

namespace Sagas.Components.Tests.ScanSessions;

public class When_listing_an_uploaded_zip
{
    private readonly UploadSource _source = new(new ScanFilesOptions());

    [Fact]
    public void Should_list_files_with_their_relative_paths_and_entry_locators()
    {
        var zip = TestFiles.Zip(("drawings/", ""), ("drawings/a.pdf", "x"), ("notes.txt", "HOLE-1"));

        var listing = List(zip);

        Assert.True(listing.Succeeded, listing.Error);
        Assert.Equal(["drawings/a.pdf", "notes.txt"], listing.Files.Select(file => file.Name));
        Assert.All(listing.Files, file => Assert.Equal(FileReferenceKind.UploadEntry, file.Kind));
        Assert.Equal(["upload:0/entry:1", "upload:0/entry:2"], listing.Files.Select(file => file.Locator));
        Assert.All(listing.Files, file => Assert.Null(file.Error));
    }

    [Theory]
    [InlineData("../evil.txt")]
    [InlineData("a/../../evil.txt")]
    [InlineData("..\\..\\evil.txt")]
    [InlineData("a\\..\\..\\evil.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("\\\\server\\share\\x.txt")]
    [InlineData("C:/Windows/x.txt")]
    [InlineData("C:x.txt")]
    [InlineData("file.txt:stream")]
    [InlineData("a/.. /x.txt")]
    [InlineData("a/.../x.txt")]
    [InlineData("bell\u0007.txt")]
    public void Should_refuse_entries_that_leave_the_folder(string entryName)
    {
        var zip = TestFiles.Zip((entryName, "HOLE-1"), ("ok.txt", "HOLE-2"));

        var listing = List(zip);

        Assert.True(listing.Succeeded, listing.Error);
        var unsafeEntry = Assert.Single(listing.Files, file => file.Error is not null);
        Assert.Equal(FileErrorKind.UnsafePath, unsafeEntry.Error!.Kind);
        Assert.Equal(FileErrors.UnsafePath, unsafeEntry.Error.Message);
        Assert.DoesNotContain('\u0007', unsafeEntry.Name);
        Assert.Contains(listing.Files, file => file.Name == "ok.txt" && file.Error is null);

        using var stream = new MemoryStream(zip);
        var read = _source.ReadEntry(stream, 0);
        Assert.Null(read.Content);
        Assert.Equal(FileErrorKind.UnsafePath, read.Error?.Kind);
    }

    [Theory]
    [InlineData("a/./b.txt", "a/b.txt")]
    [InlineData("a//b.txt", "a/b.txt")]
    [InlineData("a\\b.txt", "a/b.txt")]
    [InlineData("..hidden/x.txt", "..hidden/x.txt")]
    [InlineData("x..y.txt", "x..y.txt")]
    public void Should_normalise_harmless_paths(string raw, string expected)
    {
        Assert.True(EntryPath.TryNormalize(raw, out var path));
        Assert.Equal(expected, path);
    }

    [Fact]
    public void Should_skip_directories_empty_entries_and_system_clutter()
    {
        var zip = TestFiles.Zip(
            ("folder/", ""),
            ("empty.txt", ""),
            ("__MACOSX/._a.pdf", "x"),
            ("folder/.DS_Store", "x"),
            ("Thumbs.db", "x"),
            ("real.txt", "HOLE-1"));

        var listing = List(zip);

        Assert.Equal(["real.txt"], listing.Files.Select(file => file.Name));
        var problem = Assert.Single(listing.Problems);
        Assert.Equal("Skipped the empty entry 'empty.txt' of 'upload.zip'.", problem.Message);
    }

    [Fact]
    public void Should_tell_duplicate_names_apart()
    {
        var zip = TestFiles.Zip(("a.pdf", "1"), ("A.PDF", "2"), ("a.pdf", "3"), ("dir/a.pdf", "4"), ("README", "5"), ("readme", "6"));

        var listing = List(zip);

        Assert.Equal(["a.pdf", "A (2).PDF", "a (3).pdf", "dir/a.pdf", "README", "readme (2)"], listing.Files.Select(file => file.Name));
        Assert.Equal(6, listing.Files.Select(file => file.Locator).Distinct().Count());
    }

    [Fact]
    public void Should_mark_encrypted_entries_as_errors()
    {
        var zip = TestFiles.MarkEncrypted(TestFiles.Zip(("secret.txt", "HOLE-1"), ("open.txt", "HOLE-2")), "secret.txt");

        var listing = List(zip);

        var secret = Assert.Single(listing.Files, file => file.Name == "secret.txt");
        Assert.Equal(FileErrorKind.Encrypted, secret.Error?.Kind);
        Assert.Equal(FileErrors.EncryptedEntry, secret.Error?.Message);
        Assert.Null(Assert.Single(listing.Files, file => file.Name == "open.txt").Error);

        using var stream = new MemoryStream(zip);
        Assert.Equal(FileErrorKind.Encrypted, _source.ReadEntry(stream, 0).Error?.Kind);
    }

    [Fact]
    public void Should_refuse_a_zip_bomb_entry_without_inflating_it()
    {
        var zip = TestFiles.Zip([("bomb.txt", new byte[20 * 1024 * 1024]), ("ok.txt", Encoding.UTF8.GetBytes("HOLE-1"))]);
        Assert.True(zip.Length < 200_000);

        var listing = List(zip);

        var bomb = Assert.Single(listing.Files, file => file.Name == "bomb.txt");
        Assert.Equal(FileErrorKind.TooLarge, bomb.Error?.Kind);
        Assert.Equal(FileErrors.CompressionRatio(200), bomb.Error?.Message);

        using var stream = new MemoryStream(zip);
        Assert.Equal(FileErrorKind.TooLarge, _source.ReadEntry(stream, 0).Error?.Kind);
    }

    [Fact]
    public void Should_refuse_an_entry_over_the_file_size_limit()
    {
        var source = new UploadSource(new ScanFilesOptions { MaxFileBytes = 100 });
        var zip = TestFiles.Zip(("big.txt", new string('x', 101)), ("small.txt", "HOLE-1"));

        var listing = source.List([new UploadedFile("upload.zip", new MemoryStream(zip))]);

        Assert.Equal(FileErrorKind.TooLarge, Assert.Single(listing.Files, file => file.Name == "big.txt").Error?.Kind);
        Assert.Null(Assert.Single(listing.Files, file => file.Name == "small.txt").Error);
    }

    [Fact]
    public void Should_refuse_an_archive_with_too_many_entries()
    {
        var source = new UploadSource(new ScanFilesOptions { MaxArchiveEntries = 3 });
        var zip = TestFiles.Zip(Enumerable.Range(1, 4).Select(n => ($"f{n}.txt", "x")).ToArray());

        var listing = source.List([new UploadedFile("many.zip", new MemoryStream(zip))]);

        Assert.False(listing.Succeeded);
        Assert.Equal("The ZIP archive 'many.zip' has more than 3 entries (ScanSessions:Files:MaxArchiveEntries).", listing.Error);
    }

    [Fact]
    public void Should_read_the_declared_entry_count_from_the_end_record()
    {
        var zip = TestFiles.Zip(Enumerable.Range(1, 7).Select(n => ($"f{n}.txt", "x")).ToArray());

        Assert.Equal(7, ZipDirectory.DeclaredEntryCount(new MemoryStream(zip)));
        Assert.Null(ZipDirectory.DeclaredEntryCount(new MemoryStream(new byte[100])));
    }

    [Fact]
    public void Should_refuse_an_archive_that_inflates_beyond_the_total_limit()
    {
        var source = new UploadSource(new ScanFilesOptions { MaxArchiveUncompressedBytes = 1000 });
        var zip = TestFiles.Zip(("a.txt", new string('a', 600)), ("b.txt", new string('b', 600)));

        var listing = source.List([new UploadedFile("big.zip", new MemoryStream(zip))]);

        Assert.Equal("The ZIP archive 'big.zip' inflates to more than 1000 bytes (ScanSessions:Files:MaxArchiveUncompressedBytes).", listing.Error);
    }

    [Fact]
    public void Should_not_expand_nested_archives()
    {
        var inner = TestFiles.Zip(("deep.txt", "HOLE-1"));
        var zip = TestFiles.Zip([("inner.zip", inner), ("top.txt", Encoding.UTF8.GetBytes("HOLE-2"))]);

        var listing = List(zip);

        Assert.Equal(["inner.zip", "top.txt"], listing.Files.Select(file => file.Name));
        Assert.Equal(FileErrors.NestedArchive, listing.Files[0].Error?.Message);
    }

    [Fact]
    public void Should_read_an_entry_back_by_its_locator()
    {
        var zip = TestFiles.Zip(("a.txt", "first"), ("b.txt", "HOLE-7 second"));
        var listing = List(zip);
        Assert.True(UploadLocator.TryParse(listing.Files[1].Locator, out var locator));

        using var stream = new MemoryStream(zip);
        var read = _source.ReadEntry(stream, locator.EntryIndex!.Value);

        Assert.Null(read.Error);
        Assert.Equal("HOLE-7 second", Encoding.UTF8.GetString(read.Content!));
        Assert.Equal(FileErrorKind.Unavailable, _source.ReadEntry(stream, 99).Error?.Kind);
    }

    [Fact]
    public void Should_not_trust_an_entry_that_lies_about_its_size()
    {
        var zip = TestFiles.Zip([("liar.txt", Encoding.UTF8.GetBytes(new string('x', 5000)))], CompressionLevel.NoCompression);
        var lying = SetDeclaredSize(zip, 10);

        using var stream = new MemoryStream(lying);
        var read = _source.ReadEntry(stream, 0);

        Assert.True(read.Error is not null || read.Content!.Length <= 10);
    }

    [Fact]
    public void Should_refuse_a_broken_archive_as_a_whole()
    {
        byte[] broken = [.. "PK\u0003\u0004"u8, .. new byte[300]];

        var listing = _source.List([new UploadedFile("broken.zip", new MemoryStream(broken))]);

        Assert.False(listing.Succeeded);
        Assert.StartsWith("The ZIP archive 'broken.zip' could not be read: ", listing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_survive_damaged_archives()
    {
        var whole = TestFiles.Zip(("a.txt", "HOLE-1 first"), ("dir/b.txt", "HOLE-2 second"), ("c.txt", new string('c', 5000)));
        var random = new Random(6);
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var damaged = (byte[])whole.Clone();
            for (var flips = 0; flips < 4; flips++)
                damaged[random.Next(damaged.Length)] = (byte)random.Next(256);
            var cut = attempt % 5 == 0 ? damaged[..random.Next(4, damaged.Length)] : damaged;

            var listing = _source.List([new UploadedFile("damaged.zip", new MemoryStream(cut))]);

            Assert.True(listing.Succeeded || listing.Error!.Length > 0);
            foreach (var file in listing.Files.Where(file => file.Error is null))
            {
                Assert.True(UploadLocator.TryParse(file.Locator, out var locator));
                if (locator.EntryIndex is not { } entryIndex)
                    continue;
                var read = _source.ReadEntry(new MemoryStream(cut), entryIndex);
                Assert.True(read.Content is not null ^ read.Error is not null);
            }
        }
    }

    private SourceListing List(byte[] zip) => _source.List([new UploadedFile("upload.zip", new MemoryStream(zip))]);

    private static byte[] SetDeclaredSize(byte[] zip, int size)
    {
        var bytes = (byte[])zip.Clone();
        for (var i = 0; i + 4 < bytes.Length; i++)
        {
            if (bytes[i] != 0x50 || bytes[i + 1] != 0x4B)
                continue;
            if (bytes[i + 2] == 3 && bytes[i + 3] == 4)
                BitConverter.GetBytes(size).CopyTo(bytes, i + 22);
            else if (bytes[i + 2] == 1 && bytes[i + 3] == 2)
                BitConverter.GetBytes(size).CopyTo(bytes, i + 24);
        }

        return bytes;
    }
}

public class When_listing_uploaded_files
{
    private readonly UploadSource _source = new(new ScanFilesOptions());

    [Fact]
    public void Should_list_single_files_by_upload_index_and_keep_office_packages_whole()
    {
        var docx = TestFiles.Docx([["HOLE-1"]]);
        var listing = _source.List(
        [
            new UploadedFile("C:\\fakepath\\drawing.pdf", new MemoryStream(TestFiles.PdfPages("HOLE-1"))),
            new UploadedFile("report.docx", new MemoryStream(docx)),
            new UploadedFile("drawing.pdf", new MemoryStream(TestFiles.PdfPages("HOLE-2"))),
            new UploadedFile("../../", new MemoryStream("x"u8.ToArray())),
        ]);

        Assert.Equal(["drawing.pdf", "report.docx", "drawing (2).pdf", "upload-4"], listing.Files.Select(file => file.Name));
        Assert.Equal(["upload:0", "upload:1", "upload:2", "upload:3"], listing.Files.Select(file => file.Locator));
    }

    [Fact]
    public void Should_expand_zips_among_several_uploads()
    {
        var listing = _source.List(
        [
            new UploadedFile("a.txt", new MemoryStream("HOLE-1"u8.ToArray())),
            new UploadedFile("batch.zip", new MemoryStream(TestFiles.Zip(("a.txt", "HOLE-2"), ("b.txt", "HOLE-3")))),
        ]);

        Assert.Equal(["a.txt", "a (2).txt", "b.txt"], listing.Files.Select(file => file.Name));
        Assert.Equal(["upload:0", "upload:1/entry:0", "upload:1/entry:1"], listing.Files.Select(file => file.Locator));
    }

    [Fact]
    public void Should_refuse_an_empty_upload()
    {
        Assert.Equal(UploadSource.NoFiles, _source.List([]).Error);
        Assert.Equal(UploadSource.NothingToScan, _source.List([new UploadedFile("x.zip", new MemoryStream(TestFiles.Zip(("dir/", ""))))]).Error);
    }

    [Theory]
    [InlineData("upload:3", 3, null)]
    [InlineData("upload:0/entry:17", 0, 17)]
    public void Should_round_trip_locators(string text, int upload, int? entry)
    {
        Assert.True(UploadLocator.TryParse(text, out var locator));
        Assert.Equal(new UploadLocator(upload, entry), locator);
        Assert.Equal(text, locator.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("upload:")]
    [InlineData("upload:-1")]
    [InlineData("upload:1/entry:")]
    [InlineData("upload:1/x:2")]
    [InlineData("drive:abc")]
    public void Should_refuse_malformed_locators(string text)
    {
        Assert.False(UploadLocator.TryParse(text, out _));
    }
}
