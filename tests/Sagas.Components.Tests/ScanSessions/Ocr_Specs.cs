using System.Buffers.Binary;
using System.Diagnostics;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Ocr;

namespace Sagas.Components.Tests.ScanSessions;

/// <summary>Scanned files without OCR: never a silent "No Code" (no binaries needed).</summary>
public class When_a_scanned_file_is_matched_without_ocr
{
    [Fact]
    public void Should_not_report_an_image_only_pdf_as_no_code()
    {
        var pdf = ScannedFilesWithoutTools.BlankImagePdf();
        var matcher = HoleCodeMatcher.Create(["HOLE-12"]);

        var result = FileScan.Run(new TextExtractor(new ScanFilesOptions()), matcher, "scan.pdf", pdf);

        Assert.NotEqual(ScanStatus.NoCode, result.Status);
        Assert.Equal(ScanStatus.Error, result.Status);
    }
}

/// <summary>OCR with the real Tesseract and pdftoppm (tests/run-tests.sh installs them).</summary>
public class When_scanning_files_with_ocr
{
    private static readonly string[] Codes = ["HOLE-1", "HOLE-12", "BH-207", "TP-3A"];

    private static readonly string[] PageOne = ["BOREHOLE LOG - SHEET 1", "Location HOLE-12 drilled to 14.5 m", "Casing as per BH-207 record"];

    private static readonly string[] PageTwo = ["SHEET 2 OF 2", "Trial pit TP-3A backfilled", "Checked: J. Smith"];

    private readonly OcrOptions _options = new() { Concurrency = 2 };

    private (TextExtractor Extractor, OcrReader Reader, CountingEngine Engine) Build(OcrOptions? options = null)
    {
        options ??= _options;
        var engine = new CountingEngine(new LocalOcrEngine(options));
        return (new TextExtractor(new ScanFilesOptions(), options), new OcrReader(engine, options), engine);
    }

    private static Task<FileScanResult> Scan((TextExtractor Extractor, OcrReader Reader, CountingEngine Engine) scan, string name, byte[] content) =>
        FileScan.RunAsync(scan.Extractor, scan.Reader, HoleCodeMatcher.Create(Codes), HoleCodeMatcher.CreateForOcr(Codes), name, content);

    [Fact]
    public async Task Should_find_codes_in_a_scanned_jpeg_and_say_they_came_from_ocr()
    {
        var page = ScannedFiles.ScanPage(PageOne, new ScannedFiles.Look(300));

        var result = await Scan(Build(), "scan.jpg", ScannedFiles.Jpeg(page, 300));

        Assert.Null(result.Error);
        Assert.Equal(["HOLE-12", "BH-207"], result.MatchedCodes);
        Assert.Equal(["HOLE-12", "BH-207"], result.OcrMatches.Select(m => m.Code));
        Assert.All(result.OcrMatches, m => Assert.InRange(m.Confidence, 0.5, 1.0));
        Assert.Equal(1, result.OcrPages);
    }

    [Fact]
    public async Task Should_read_every_frame_of_a_multi_page_tiff()
    {
        var look = new ScannedFiles.Look(200);
        var tiff = ScannedFiles.Tiff([ScannedFiles.ScanPage(PageOne, look), ScannedFiles.ScanPage(PageTwo, look with { Seed = 2 })]);

        var result = await Scan(Build(), "scan.tif", tiff);

        Assert.Null(result.Error);
        Assert.Equal(["HOLE-12", "BH-207", "TP-3A"], result.MatchedCodes);
        Assert.Equal(2, result.OcrPages);
    }

    [Fact]
    public async Task Should_ocr_only_the_scanned_pages_of_a_mixed_pdf()
    {
        var scanned = ScannedFiles.ImageOnlyPdf([ScannedFiles.ScanPage(PageTwo, new ScannedFiles.Look(300))], 300);
        var mixed = ScannedFilesWithoutTools.Append(TestFiles.PdfPages("Typed sheet: HOLE-1 is dry, see the attached scan of the trial pit."), scanned);
        var scan = Build();

        var result = await Scan(scan, "mixed.pdf", mixed);

        Assert.Null(result.Error);
        Assert.Equal(["HOLE-1", "TP-3A"], result.MatchedCodes);
        Assert.Equal(["TP-3A"], result.OcrMatches.Select(m => m.Code));
        Assert.Equal([2], scan.Engine.PdfPagesAsked);
    }

    [Fact]
    public async Task Should_count_the_time_ocr_worked_not_the_time_a_file_waited_for_a_slot()
    {
        // One OCR slot, three files at once: the children run one after another, so the time they worked adds up to
        // no more than the wall time of the three; the files' waits for the slot, counted too, would add up to more.
        var scan = Build(new OcrOptions { Concurrency = 1 });
        var page = ScannedFiles.Png(ScannedFiles.ScanPage(PageOne, new ScannedFiles.Look(200)), 200);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Task.Run(() => Scan(scan, $"scan-{i}.png", page))));
        var wall = clock.Elapsed;

        Assert.All(results, result => Assert.Equal(["HOLE-12", "BH-207"], result.MatchedCodes));
        Assert.All(results, result => Assert.True(result.OcrTime > TimeSpan.Zero));
        Assert.True(results.Sum(result => result.OcrTime.Ticks) <= wall.Ticks, $"OCR time {TimeSpan.FromTicks(results.Sum(result => result.OcrTime.Ticks))} exceeds the wall time {wall}");
    }

    [Fact]
    public async Task Should_never_ocr_a_pdf_with_a_good_text_layer()
    {
        var scan = Build();

        var result = await Scan(scan, "typed.pdf", TestFiles.PdfPages("Typed sheet: HOLE-1 is dry and HOLE-12 is flooded, see the log."));

        Assert.Equal(["HOLE-1", "HOLE-12"], result.MatchedCodes);
        Assert.Empty(result.OcrMatches);
        Assert.Equal(0, scan.Engine.Calls);
    }

    [Fact]
    public async Task Should_record_ocr_as_unavailable_when_the_binaries_are_missing()
    {
        var options = new OcrOptions { TesseractPath = "/nonexistent/tesseract", PdftoppmPath = "no-such-pdftoppm-here" };
        var page = ScannedFiles.ScanPage(PageOne, new ScannedFiles.Look(150));

        var result = await Scan(Build(options), "scan.png", ScannedFiles.Png(page, 150));

        Assert.Equal(ScanStatus.Error, result.Status);
        Assert.StartsWith("OCR is unavailable on this worker", result.Error!.Message, StringComparison.Ordinal);
        Assert.Contains("tesseract-ocr", result.Error.Message, StringComparison.Ordinal);
        Assert.Contains("poppler-utils", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_refuse_an_image_bomb_from_its_header()
    {
        var scan = Build();

        var result = await Scan(scan, "bomb.png", ScannedFilesWithoutTools.PngHeader(100_000, 100_000));

        Assert.Equal(ScanStatus.Error, result.Status);
        Assert.Equal(FileErrors.ImageTooLarge(100_000, 100_000, _options.MaxImagePixels), result.Error!.Message);
        Assert.Contains("ScanSessions:Ocr:MaxImagePixels", result.Error.Message, StringComparison.Ordinal);
        Assert.Equal(0, scan.Engine.Calls);
    }

    [Fact]
    public async Task Should_refuse_a_tiff_of_thousands_of_frames_from_its_header()
    {
        var scan = Build();

        var result = await Scan(scan, "frames.tif", ScannedFilesWithoutTools.TinyTiff(5_000));

        Assert.Equal(ScanStatus.Error, result.Status);
        Assert.Contains("ScanSessions:Ocr:MaxPages", result.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(0, scan.Engine.Calls);
    }

    [Fact]
    public async Task Should_refuse_a_pdf_of_ten_thousand_scanned_pages()
    {
        var scan = Build();

        var result = await Scan(scan, "huge.pdf", ScannedFilesWithoutTools.BlankPages(10_000));

        Assert.Equal(ScanStatus.Error, result.Status);
        Assert.Contains("ScanSessions:Ocr:MaxPages", result.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(0, scan.Engine.Calls);
    }

    [Fact]
    public async Task Should_report_a_corrupt_image_as_an_error()
    {
        var scan = Build();
        byte[] corrupt = [.. ScannedFilesWithoutTools.PngHeader(400, 300), .. new byte[64]];
        corrupt[30] ^= 0xFF;

        var truncated = await Scan(scan, "cut.png", corrupt[..20]);
        var garbage = await Scan(scan, "garbage.png", corrupt);

        Assert.Equal(FileErrors.CorruptImage(ImageKind.Png), truncated.Error!.Message);
        Assert.Equal(ScanStatus.Error, garbage.Status);
        Assert.StartsWith("Tesseract could not read the image", garbage.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_stop_a_page_at_its_timeout_and_kill_the_child()
    {
        using var tool = new SlowTool();
        var options = new OcrOptions { TesseractPath = tool.Path, PageTimeout = TimeSpan.FromSeconds(1) };
        var page = ScannedFiles.ScanPage(PageOne, new ScannedFiles.Look(150));

        var result = await Scan(Build(options), "slow.png", ScannedFiles.Png(page, 150));

        Assert.Equal(ScanStatus.Error, result.Status);
        Assert.Contains("ScanSessions:Ocr:PageTimeout", result.Error!.Message, StringComparison.Ordinal);
        await tool.UntilGoneAsync();
    }

    [Fact]
    public async Task Should_kill_the_child_when_the_scan_is_cancelled()
    {
        using var tool = new SlowTool();
        var options = new OcrOptions { TesseractPath = tool.Path, PageTimeout = TimeSpan.FromMinutes(10) };
        var page = ScannedFiles.ScanPage(PageOne, new ScannedFiles.Look(150));
        using var cancel = new CancellationTokenSource();
        var scan = Build(options);

        var running = FileScan.RunAsync(scan.Extractor, scan.Reader, HoleCodeMatcher.Create(Codes), HoleCodeMatcher.CreateForOcr(Codes), "slow.png", ScannedFiles.Png(page, 150), cancel.Token);
        await tool.UntilStartedAsync();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        await tool.UntilGoneAsync();
    }

    /// <summary>Counts what reaches the engine, so a spec can show a limit was applied before any decoding.</summary>
    private sealed class CountingEngine(IOcrEngine inner) : IOcrEngine
    {
        public int Calls { get; private set; }

        public List<int> PdfPagesAsked { get; } = [];

        public string? Unavailable => inner.Unavailable;

        public Task<OcrOutcome> RecognizeImageAsync(ReadOnlyMemory<byte> content, ImageInfo image, CancellationToken cancellationToken)
        {
            Calls++;
            return inner.RecognizeImageAsync(content, image, cancellationToken);
        }

        public Task<OcrOutcome> RecognizePdfPagesAsync(ReadOnlyMemory<byte> content, IReadOnlyList<OcrPdfPage> pages, CancellationToken cancellationToken)
        {
            Calls++;
            PdfPagesAsked.AddRange(pages.Select(p => p.Number));
            return inner.RecognizePdfPagesAsync(content, pages, cancellationToken);
        }
    }

    /// <summary>A stand-in "tesseract" that writes its process id and then sleeps, to be timed out or cancelled.</summary>
    private sealed class SlowTool : IDisposable
    {
        private readonly string _folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sagas-slow-" + Guid.NewGuid().ToString("N"));

        public SlowTool()
        {
            Directory.CreateDirectory(_folder);
            File.WriteAllText(Path, $"#!/bin/sh\necho $$ > {PidFile}.tmp && mv {PidFile}.tmp {PidFile}\nexec sleep 600\n");
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        public string Path => System.IO.Path.Combine(_folder, "tesseract");

        private string PidFile => System.IO.Path.Combine(_folder, "pid");

        public async Task UntilStartedAsync()
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            while (!File.Exists(PidFile))
                await Task.Delay(20, limit.Token);
        }

        public async Task UntilGoneAsync()
        {
            await UntilStartedAsync();
            var pid = int.Parse(File.ReadAllText(PidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            while (Alive(pid))
                await Task.Delay(20, limit.Token);
        }

        private static bool Alive(int pid)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                return !process.HasExited;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }

        public void Dispose() => Directory.Delete(_folder, recursive: true);
    }
}

/// <summary>Hostile and minimal files written byte by byte (no tools needed).</summary>
internal static class ScannedFilesWithoutTools
{
    /// <summary>A PNG signature and IHDR declaring the given size, with no pixel data: the classic decompression bomb's header.</summary>
    public static byte[] PngHeader(int width, int height)
    {
        var png = new byte[33];
        byte[] signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        signature.CopyTo(png, 0);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(8), 13);
        "IHDR"u8.CopyTo(png.AsSpan(12));
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(16), (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(20), (uint)height);
        png[24] = 8;
        return png;
    }

    /// <summary>A TIFF of <paramref name="frames"/> 1 × 1 frames: a few tens of kilobytes.</summary>
    public static byte[] TinyTiff(int frames) =>
        ScannedFiles.Tiff([.. Enumerable.Range(0, frames).Select(_ => new GreyImage(1, 1, [255]))]);

    /// <summary>A PDF whose one page shows an 8 × 8 white image and has no text.</summary>
    public static byte[] BlankImagePdf() => BlankPages(1, withImage: true);

    /// <summary>Blank pages sharing one content stream, written by hand so that 10,000 pages take a moment.</summary>
    public static byte[] BlankPages(int pages, bool withImage = false)
    {
        var body = new System.Text.StringBuilder();
        var offsets = new List<int>();
        var text = new System.Text.StringBuilder("%PDF-1.4\n");
        void Add(string obj)
        {
            offsets.Add(text.Length);
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{offsets.Count} 0 obj\n{obj}\nendobj\n");
        }

        var kids = string.Join(' ', Enumerable.Range(0, pages).Select(i => $"{i + 5} 0 R"));
        Add("<< /Type /Catalog /Pages 2 0 R >>");
        Add($"<< /Type /Pages /Kids [{kids}] /Count {pages} >>");
        var content = withImage ? "q 100 0 0 100 0 0 cm /Im0 Do Q" : "";
        Add($"<< /Length {content.Length} >>\nstream\n{content}\nendstream");
        var pixels = new string('\u00ff', 64);
        Add($"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length 64 >>\nstream\n{pixels}\nendstream");
        for (var i = 0; i < pages; i++)
            Add("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 3 0 R >>");
        var xref = text.Length;
        text.Append(System.Globalization.CultureInfo.InvariantCulture, $"xref\n0 {offsets.Count + 1}\n0000000000 65535 f \n");
        foreach (var offset in offsets)
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{offset:0000000000} 00000 n \n");
        text.Append(System.Globalization.CultureInfo.InvariantCulture, $"trailer\n<< /Size {offsets.Count + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        return System.Text.Encoding.Latin1.GetBytes(text.ToString());
    }

    /// <summary>Both documents' pages in one PDF (PdfPig's merge), the typed one first.</summary>
    public static byte[] Append(byte[] first, byte[] second) => UglyToad.PdfPig.Writer.PdfMerger.Merge(new List<byte[]> { first, second });
}
