using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Sagas.Api.Tests.ScanSessions;
using Sagas.Components.Tests.ScanSessions;

namespace Sagas.Api.Tests.Realtime;

/// <summary>
/// OCR on the socket: PROGRESS adds <c>ocr_pages</c> and <c>ocr_seconds</c> to the seed's fields (which stay as they
/// are), live and in the replay to a late subscriber; MATCH_FOUND carries <c>ocr_confidence</c> for a scanned file's
/// code. The API process scans (the embedded default) with the real Tesseract and pdftoppm.
/// </summary>
public sealed class When_a_scan_with_a_scanned_file_runs_over_the_websocket(ScanSessionsApi api) : IClassFixture<ScanSessionsApi>
{
    private static readonly string[] ProgressFields = ["type", "value", "processed", "total", "session_id", "ocr_pages", "ocr_seconds"];

    [Fact]
    public async Task Should_report_the_ocr_pages_and_time_in_progress_and_the_confidence_in_the_match()
    {
        await using var client = await ProtocolClient.ConnectAsync(api.Server);

        await client.SendAsync(new { action = "start_scan", file_content = Convert.ToBase64String(Archive()), target_hole_codes = ScanFixtures.Codes });
        var messages = await client.ReceiveUntilAsync("COMPLETE");
        while (messages.Count(m => Type(m) == "MATCH_FOUND") < 2)
            messages.Add((await client.ReceiveAsync())!.Value);

        var progress = messages.Where(m => Type(m) == "PROGRESS").ToList();
        Assert.All(progress, p => Assert.Equal(ProgressFields, p.EnumerateObject().Select(field => field.Name)));
        var last = progress.Single(p => p.GetProperty("value").GetInt32() == 100);
        Assert.Equal((2, 2), (last.GetProperty("processed").GetInt32(), last.GetProperty("total").GetInt32()));
        Assert.Equal(1, last.GetProperty("ocr_pages").GetInt32());
        Assert.True(last.GetProperty("ocr_seconds").GetDouble() > 0);
        var matches = messages.Where(m => Type(m) == "MATCH_FOUND").Select(m => m.GetProperty("data")).ToList();
        var scanned = matches.Single(m => m.GetProperty("file_name").GetString() == "scan.png");
        Assert.Equal("EB-1", scanned.GetProperty("hole_code").GetString());
        Assert.InRange(scanned.GetProperty("ocr_confidence").GetDouble(), 0.5, 1.0);
        Assert.Equal(JsonValueKind.Null, matches.Single(m => m.GetProperty("file_name").GetString() == "typed.txt").GetProperty("ocr_confidence").ValueKind);

        // A late subscriber's PROGRESS comes from the stored session: the same OCR figures.
        await using var late = await ProtocolClient.ConnectAsync(api.Server);
        await late.SendAsync(new { action = "subscribe", session_id = messages[0].GetProperty("session_id").GetGuid() });
        var replayed = (await late.ReceiveUntilAsync("COMPLETE")).Single(m => Type(m) == "PROGRESS");
        Assert.Equal(ProgressFields, replayed.EnumerateObject().Select(field => field.Name));
        Assert.Equal(1, replayed.GetProperty("ocr_pages").GetInt32());
        Assert.Equal(last.GetProperty("ocr_seconds").GetDouble(), replayed.GetProperty("ocr_seconds").GetDouble());
    }

    private static string? Type(JsonElement message) => message.GetProperty("type").GetString();

    /// <summary>A typed note with EB-0 and a scanned label with EB-1.</summary>
    private static byte[] Archive()
    {
        var page = ScannedFiles.ScanPage(["Location EB-1 logged", "Checked: J. Smith"], new ScannedFiles.Look(300, Label: true), fontSize: 12);
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var typed = zip.CreateEntry("typed.txt").Open())
                typed.Write(Encoding.UTF8.GetBytes("Typed note: EB-0 grouted."));
            using var scan = zip.CreateEntry("scan.png").Open();
            scan.Write(ScannedFiles.Png(page, 300));
        }

        return buffer.ToArray();
    }
}
