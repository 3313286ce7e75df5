using System.IO.Compression;
using System.Text;
using System.Text.Json;
using ClosedXML.Excel;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.ScanSessions;
using Sagas.Contracts.ScanSessions;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.Ocr;
using Sagas.Storage.Blobs;

namespace Sagas.Integration.Tests.ScanSessions;

/// <summary>
/// A session of mixed files, end to end through the saga and the worker consumers on PostgreSQL and RabbitMQ, with
/// the real pdftoppm and Tesseract (tests/run-tests.sh installs them): typed PDFs and a text file beside an
/// image-only PDF, a PNG, a JPEG and a TIFF scanned in the test with known codes.
/// </summary>
public sealed class When_a_scan_session_holds_scanned_files_on_rabbitmq_and_postgresql(TransportServers<RabbitMqTestTransport> servers)
    : IClassFixture<TransportServers<RabbitMqTestTransport>>
{
    private static readonly string[] Codes = ["HOLE-1", "GH-7", "TP-3A", "BH-207", "MW-45", "EB-101"];

    /// <summary>The scanned files and the one code each carries; a label-sized page keeps Tesseract's share of the run short.</summary>
    private static readonly (string Name, string Code)[] Scans =
        [("scans/pit.pdf", "TP-3A"), ("scans/casing.png", "BH-207"), ("scans/well.jpg", "MW-45"), ("scans/log.tif", "EB-101")];

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_find_the_codes_in_the_scanned_files_mark_them_as_ocr_and_count_exactly()
    {
        await using var host = await ScanSessionHost.StartAsync(servers.Database, servers.Transport, echoFiles: false);
        var sessionId = await StartAsync(host, Archive(includeHuge: false));

        Assert.Equal("Completed", await host.WaitForSagaAsync(sessionId, "Completed", TimeSpan.FromSeconds(180)));
        var session = await host.QueryAsync(db => db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId));
        var results = await host.QueryAsync(db => db.Set<ScanFileResult>().AsNoTracking().Where(r => r.SessionId == sessionId).ToListAsync());

        // Two typed PDFs, a text file, four scans; HOLE-1 and GH-7 typed, one code per scan.
        Assert.Equal((7, 7, 6, 6, 0), (session.TotalFiles, session.ProcessedFiles, session.TotalMatches, session.MatchedFiles, session.ErrorFiles));
        Assert.Equal(7, results.Count);
        foreach (var (name, code) in Scans)
        {
            var row = results.Single(r => r.Name == name);
            Assert.Null(row.Error);
            Assert.Equal([code], JsonSerializer.Deserialize<string[]>(row.MatchedCodesJson)!);
            var ocr = Assert.Single(OcrMatchJson.Read(row.OcrMatchesJson));
            Assert.Equal(code, ocr.Code);
            Assert.InRange(ocr.Confidence, 0.5, 1.0);
            Assert.Equal(1, row.OcrPages);
        }

        var typed = results.Single(r => r.Name == "typed.pdf");
        Assert.Equal(["HOLE-1"], JsonSerializer.Deserialize<string[]>(typed.MatchedCodesJson)!);
        Assert.Equal((null, 0), (typed.OcrMatchesJson, typed.OcrPages));
        Assert.Equal("No Code", results.Single(r => r.Name == "blank.pdf").Status);
        Assert.Equal(4, session.OcrPages);
        Assert.True(session.OcrMilliseconds > 0);

        // MATCH_FOUND carries the confidence for OCR matches only; the last progress carries the OCR so far.
        await WaitUntilAsync(() => host.Events.Matches.GetValueOrDefault(sessionId)?.Count >= 6 && host.Events.Progress.GetValueOrDefault(sessionId)?.Any(p => p.Percent == 100) == true);
        var matches = host.Events.Matches[sessionId].ToList();
        Assert.Equal(6, matches.Count);
        Assert.Equal(Scans.Select(s => s.Code).Order(), matches.Where(m => m.OcrConfidence is not null).Select(m => m.HoleCode).Order());
        Assert.Equal(["GH-7", "HOLE-1"], matches.Where(m => m.OcrConfidence is null).Select(m => m.HoleCode).Order());
        var last = host.Events.Progress[sessionId].Single(p => p.Percent == 100);
        Assert.Equal(4, last.OcrPages);
        Assert.Equal(Math.Round(session.OcrMilliseconds / 1000.0, 1), last.OcrSeconds);

        // The report: OCR Confidence on the Matches sheet, Found by OCR on the Files sheet.
        using var workbook = await ReportAsync(host, session);
        var sheet = workbook.Worksheet("Matches");
        Assert.Equal("OCR Confidence", sheet.Cell(1, 5).GetString());
        var rows = Enumerable.Range(2, 6).Select(row => (Code: sheet.Cell(row, 1).GetString(), Confidence: sheet.Cell(row, 5))).ToList();
        Assert.All(rows.Where(r => Scans.Any(s => s.Code == r.Code)), r => Assert.InRange(r.Confidence.GetDouble(), 0.5, 1.0));
        Assert.All(rows.Where(r => r.Code is "HOLE-1" or "GH-7"), r => Assert.True(r.Confidence.IsEmpty()));
        var files = workbook.Worksheet("Files");
        Assert.Equal("Found by OCR", files.Cell(1, 6).GetString());
        var png = Enumerable.Range(2, 7).Single(row => files.Cell(row, 1).GetString() == "scans/casing.png");
        Assert.StartsWith("BH-207 (0.", files.Cell(png, 6).GetString(), StringComparison.Ordinal);
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_record_a_scan_whose_ocr_needs_more_memory_than_the_cap_as_an_error_naming_the_limit()
    {
        // 160 MB of address space is enough for Tesseract on a label-sized scan, not on a 64-megapixel page.
        await using var host = await ScanSessionHost.StartAsync(servers.Database, servers.Transport.HostSettings, echoFiles: false,
            configure: builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ScanSessions:Ocr:MaxChildMemoryMegabytes"] = "160" }));
        var sessionId = await StartAsync(host, Archive(includeHuge: true));

        Assert.Equal("Completed", await host.WaitForSagaAsync(sessionId, "Completed", TimeSpan.FromSeconds(180)));
        var session = await host.QueryAsync(db => db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId));
        var results = await host.QueryAsync(db => db.Set<ScanFileResult>().AsNoTracking().Where(r => r.SessionId == sessionId).ToListAsync());

        var huge = results.Single(r => r.Name == "huge.png");
        Assert.Equal("Error", huge.Status);
        Assert.Contains("160 MB", huge.Error, StringComparison.Ordinal);
        Assert.Contains("(ScanSessions:Ocr:MaxChildMemoryMegabytes)", huge.Error, StringComparison.Ordinal);
        Assert.Equal((8, 8, 6, 1), (session.TotalFiles, session.ProcessedFiles, session.TotalMatches, session.ErrorFiles));
        Assert.All(Scans, scan => Assert.Null(results.Single(r => r.Name == scan.Name).Error));
    }

    /// <summary>Builds the session's ZIP: the typed files, then each scan.</summary>
    /// <param name="includeHuge">Adds a blank 8,000 × 8,000 pixel scan (within ScanSessions:Ocr:MaxImagePixels).</param>
    private static byte[] Archive(bool includeHuge)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(zip, "typed.pdf", ScanSessionEndToEndSpecs<RabbitMqTestTransport>.Pdf(["Drawing 12, revision C", "Hole HOLE-1 drilled to 14.5 m, cased to 3 m", "end"]));
            Add(zip, "blank.pdf", ScanSessionEndToEndSpecs<RabbitMqTestTransport>.Pdf(["Drawing 13, revision A", "No hole on this sheet; see the site plan", "end"]));
            Add(zip, "notes/site.txt", Encoding.UTF8.GetBytes("Site note: GH-7 grouted on Tuesday."));
            foreach (var (name, code) in Scans)
            {
                var look = new ScannedFiles.Look(300, Seed: name.Length, Label: true);
                var page = ScannedFiles.ScanPage([$"Location {code} logged", "Checked: J. Smith"], look, fontSize: 12);
                Add(zip, name, Path.GetExtension(name) switch
                {
                    ".pdf" => ScannedFiles.ImageOnlyPdf([page], 300),
                    ".png" => ScannedFiles.Png(page, 300),
                    ".jpg" => ScannedFiles.Jpeg(page, 300),
                    _ => ScannedFiles.Tiff([page]),
                });
            }

            if (includeHuge)
                Add(zip, "huge.png", ScannedFiles.Png(new GreyImage(8_000, 8_000, Enumerable.Repeat((byte)255, 64_000_000).ToArray()), 300));
        }

        return buffer.ToArray();
    }

    private static async Task<Guid> StartAsync(ScanSessionHost host, byte[] zip)
    {
        var sessionId = NewId.NextGuid();
        var key = $"scan-uploads/{sessionId:N}/mixed.zip";
        await host.Services.GetRequiredService<IBlobStore>().PutAsync(key, new MemoryStream(zip), "application/zip");
        await host.Services.GetRequiredService<IBus>().Publish(new StartScanSession(
            sessionId, new ScanSource(Uploads: [new ScanUpload(key, "mixed.zip")]), Codes, "specs"));
        return sessionId;
    }

    private static async Task<XLWorkbook> ReportAsync(ScanSessionHost host, ScanSession session)
    {
        await using var report = await host.Services.GetRequiredService<IBlobStore>().OpenReadAsync(session.ReportBlobKey!);
        var copy = new MemoryStream();
        await report.Content.CopyToAsync(copy);
        return new XLWorkbook(copy);
    }

    private static void Add(ZipArchive zip, string name, byte[] content)
    {
        using var entry = zip.CreateEntry(name).Open();
        entry.Write(content);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
            await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
    }
}
