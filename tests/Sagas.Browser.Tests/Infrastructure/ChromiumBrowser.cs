using Microsoft.Playwright;

namespace Sagas.Browser.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium driven headless by Playwright. No browser is ever downloaded: the executable is the system one
/// (SAGAS_CHROMIUM overrides the path), and background network features are off so the run stays offline.
/// </summary>
public sealed class ChromiumBrowser : IAsyncDisposable
{
    private IPlaywright? _playwright;

    public IBrowser Instance { get; private set; } = null!;

    public static string ExecutablePath => Environment.GetEnvironmentVariable("SAGAS_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>Screenshots are test artifacts: bin/.../TestResults/screenshots unless SAGAS_SCREENSHOTS points elsewhere.</summary>
    public static string ScreenshotDirectory =>
        Environment.GetEnvironmentVariable("SAGAS_SCREENSHOTS") is { Length: > 0 } folder
            ? folder
            : Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    public async Task LaunchAsync()
    {
        if (!File.Exists(ExecutablePath))
            throw new InvalidOperationException($"Chromium is not installed at {ExecutablePath}: apt-get install chromium (never `playwright install`).");

        _playwright = await Playwright.CreateAsync();
        Instance = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
            ],
        });
    }

    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }

    /// <summary>One part of a page (a card), for a document that shows that part only.</summary>
    public static async Task ScreenshotAsync(ILocator part, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await part.ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png") });
    }

    public async ValueTask DisposeAsync()
    {
        if (Instance is not null)
            await Instance.CloseAsync();
        _playwright?.Dispose();
    }
}
