using System.IO.Compression;
using System.Text;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using Sagas.Components.Tests.ScanSessions;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

[Collection(DashboardCollection.Name)]
public sealed class When_a_scan_is_started_from_the_dashboard(DashboardFixture dashboard) : IDisposable
{
    private static readonly LocatorAssertionsToHaveTextOptions Eventually = new() { Timeout = 90_000 };
    private readonly string _folder = Directory.CreateTempSubdirectory("sagas-browser-scan-").FullName;

    [Fact]
    public async Task Should_show_live_progress_and_matches_then_complete_with_a_working_download_from_separate_files()
    {
        var files = new[]
        {
            Write("pump-room.txt", "Drawing notes: HOLE-1 drilled, HOLE-12 planned."),
            Write("north-wall.txt", "No codes on this sheet."),
            Write("bore-log.txt", "Bore log for HOLE-2 and again HOLE-2."),
        };

        await using var browser = await dashboard.OpenAsync("#/scan");
        var page = browser.Page;
        await page.SetInputFilesAsync("#scan-files", files);
        await page.FillAsync("#scan-codes", "HOLE-1, HOLE-2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start scan" }).ClickAsync();

        await ExpectCompletedAsync(page, processed: 3, matches: 2);
        var matches = page.GetByTestId("matches-table").Locator("tbody tr");
        await Expect(matches).ToHaveCountAsync(2);
        await Expect(matches.Filter(new() { HasText = "pump-room.txt" }).Locator("code")).ToHaveTextAsync("HOLE-1");
        await Expect(matches.Filter(new() { HasText = "bore-log.txt" }).Locator("code")).ToHaveTextAsync("HOLE-2");
        await Expect(page.GetByTestId("progress")).ToHaveAttributeAsync("aria-valuenow", "100");
        await ChromiumBrowser.ScreenshotAsync(page, "scan-complete");

        await AssertDownloadIsAWorkbookAsync(page);
        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task Should_start_a_zip_over_the_socket_and_complete_with_a_working_download()
    {
        var zip = Path.Combine(_folder, "drawings.zip");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            for (var i = 0; i < 6; i++)
            {
                using var writer = new StreamWriter(archive.CreateEntry($"drawings/sheet-{i}.txt").Open(), Encoding.UTF8);
                writer.Write(i % 2 == 0 ? $"Sheet {i} shows EB-{i}." : $"Sheet {i} mentions EB-10 only.");
            }
        }

        await using var browser = await dashboard.OpenAsync("#/scan");
        var page = browser.Page;
        await page.SetInputFilesAsync("#scan-files", zip);
        await page.FillAsync("#scan-codes", "EB-0\nEB-2\nEB-4");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start scan" }).ClickAsync();

        await ExpectCompletedAsync(page, processed: 6, matches: 3);
        await Expect(page.GetByTestId("matches-table").Locator("tbody tr")).ToHaveCountAsync(3);
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("#/scan/[0-9a-f-]{36}$"));

        await AssertDownloadIsAWorkbookAsync(page);

        // A reload catches up from the stored session and results and can still download.
        await page.ReloadAsync();
        await Expect(page.GetByTestId("scan-status").Locator(".badge")).ToHaveTextAsync("completed");
        await Expect(page.GetByTestId("matches-table").Locator("tbody tr")).ToHaveCountAsync(3);
        await AssertDownloadIsAWorkbookAsync(page);
        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task Should_mark_the_matches_found_by_ocr_with_their_confidence()
    {
        var scan = ScannedFiles.ScanPage(["Location BH-207 logged", "Checked: J. Smith"], new ScannedFiles.Look(300, Label: true), fontSize: 12);
        var png = Path.Combine(_folder, "casing.png");
        await File.WriteAllBytesAsync(png, ScannedFiles.Png(scan, 300));
        var files = new[] { png, Write("notes.txt", "Typed note: HOLE-1 grouted.") };

        await using var browser = await dashboard.OpenAsync("#/scan");
        var page = browser.Page;
        await page.SetInputFilesAsync("#scan-files", files);
        await page.FillAsync("#scan-codes", "HOLE-1, BH-207");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start scan" }).ClickAsync();

        await ExpectCompletedAsync(page, processed: 2, matches: 2);
        var matches = page.GetByTestId("matches-table").Locator("tbody tr");
        await Expect(matches).ToHaveCountAsync(2);
        var scanned = matches.Filter(new() { HasText = "casing.png" });
        await Expect(scanned.Locator("code")).ToHaveTextAsync("BH-207");
        await Expect(scanned.GetByTestId("ocr-marker")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^OCR (5[0-9]|[6-9][0-9]|100)%$"));
        await Expect(scanned.GetByTestId("ocr-marker")).ToHaveAttributeAsync("title", new System.Text.RegularExpressions.Regex("^Found by OCR"));
        await Expect(matches.Filter(new() { HasText = "notes.txt" }).GetByTestId("ocr-marker")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("progress")).ToContainTextAsync("OCR 1 page, ");
        await ChromiumBrowser.ScreenshotAsync(page, "scan-ocr");
        Assert.Empty(browser.ScriptErrors);
    }

    private static async Task ExpectCompletedAsync(IPage page, int processed, int matches)
    {
        await Expect(page.GetByTestId("scan-status").Locator(".badge")).ToHaveTextAsync("completed", Eventually);
        await Expect(page.GetByTestId("scan-complete")).ToContainTextAsync($"{processed} files · {matches} matches");
    }

    private async Task AssertDownloadIsAWorkbookAsync(IPage page)
    {
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#scan-download"));
        Assert.Null(await download.FailureAsync());
        var saved = Path.Combine(_folder, Guid.NewGuid().ToString("N") + ".xlsx");
        await download.SaveAsAsync(saved);
        using var workbook = ZipFile.OpenRead(saved);
        Assert.Contains(workbook.Entries, entry => entry.FullName == "xl/workbook.xml");
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
