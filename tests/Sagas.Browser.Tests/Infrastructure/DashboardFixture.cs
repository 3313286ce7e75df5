using Microsoft.Playwright;

namespace Sagas.Browser.Tests.Infrastructure;

/// <summary>One API and one browser for every dashboard spec in the collection; each spec gets its own page.</summary>
public class DashboardFixture : IAsyncLifetime
{
    private readonly List<string> _foreignRequests = [];

    public DashboardFixture() : this(new DashboardServer())
    {
    }

    protected DashboardFixture(DashboardServer server) => Server = server;

    public DashboardServer Server { get; }

    public ChromiumBrowser Browser { get; } = new();

    public Uri BaseAddress => Server.BaseAddress;

    /// <summary>Every request a page made to anything but the API under test: the dashboard must need none.</summary>
    public IReadOnlyList<string> ForeignRequests
    {
        get
        {
            lock (_foreignRequests)
                return [.. _foreignRequests];
        }
    }

    public async Task InitializeAsync()
    {
        Server.Start();
        await Browser.LaunchAsync();
    }

    /// <summary>
    /// A fresh context (own sessionStorage) whose page records script errors and refuses, and records, any request off
    /// the API's origin, so a CDN or web font slipping in fails the offline spec instead of silently loading.
    /// </summary>
    public async Task<DashboardPage> OpenAsync(string hash = "")
    {
        var context = await Browser.Instance.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            AcceptDownloads = true,
        });
        var origin = BaseAddress.GetLeftPart(UriPartial.Authority);
        var wsOrigin = origin.Replace("http://", "ws://", StringComparison.Ordinal);
        await context.RouteAsync(url => !url.StartsWith(origin, StringComparison.Ordinal) && !url.StartsWith(wsOrigin, StringComparison.Ordinal) && !url.StartsWith("blob:", StringComparison.Ordinal) && !url.StartsWith("data:", StringComparison.Ordinal), async route =>
        {
            lock (_foreignRequests)
                _foreignRequests.Add(route.Request.Url);
            await route.AbortAsync();
        });
        var page = await context.NewPageAsync();
        var dashboard = new DashboardPage(context, page);
        await page.GotoAsync("/" + hash);
        return dashboard;
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        await Server.DisposeAsync();
    }
}

public sealed class DashboardPage : IAsyncDisposable
{
    private readonly List<string> _scriptErrors = [];

    public DashboardPage(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        page.PageError += (_, error) =>
        {
            lock (_scriptErrors)
                _scriptErrors.Add(error);
        };
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public IReadOnlyList<string> ScriptErrors
    {
        get
        {
            lock (_scriptErrors)
                return [.. _scriptErrors];
        }
    }

    public async ValueTask DisposeAsync() => await Context.CloseAsync();
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}
