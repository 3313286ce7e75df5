using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.PromptAnalyses.Platforms;

/// <summary>
/// One real platform wired through <see cref="PlatformRegistration.AddAnalysisPlatforms"/> against an
/// <see cref="HttpStub"/> that answers the provider's endpoint with whatever the test hands it.
/// </summary>
internal sealed class PlatformScenario : IAsyncDisposable
{
    public const string ApiKey = "test-key-5f3c9a1e7b";

    private readonly ServiceProvider _services;

    private PlatformScenario(HttpStub stub, ServiceProvider services, string platform)
    {
        Stub = stub;
        _services = services;
        Platform = services.GetRequiredService<IAnalysisPlatformCatalog>().Get(platform);
    }

    public HttpStub Stub { get; }

    public IAnalysisPlatform Platform { get; }

    public IReadOnlyList<RecordedRequest> Calls => [.. Stub.Requests];

    public static Task<PlatformScenario> StartAsync(string platform, string status, string body, IDictionary<string, string>? headers = null) =>
        StartAsync(platform, int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), body, headers);

    public static Task<PlatformScenario> StartAsync(string platform, int status, string body, IDictionary<string, string>? headers = null) =>
        StartAsync(platform, context =>
        {
            foreach (var (name, value) in headers ?? new Dictionary<string, string>())
                context.Response.Headers[name] = value;
            return Task.FromResult(Results.Text(body, "application/json", statusCode: status));
        });

    public static async Task<PlatformScenario> StartAsync(
        string platform,
        Func<HttpContext, Task<IResult>> respond,
        IDictionary<string, string?>? extraSettings = null)
    {
        var stub = await HttpStub.StartAsync(app =>
        {
            Delegate handler = (HttpContext context) => respond(context);
            app.MapPost(EndpointOf(platform), handler);
        });

        var section = $"{PlatformsOptions.SectionName}:{SectionOf(platform)}";
        var settings = new Dictionary<string, string?>
        {
            [$"{section}:Enabled"] = "true",
            [$"{section}:BaseUrl"] = stub.BaseAddress.ToString(),
            [$"{section}:ApiKey"] = ApiKey,
            [$"{PlatformsOptions.SectionName}:Simulated:Enabled"] = "false",
        };
        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string?>())
            settings[key.Replace("{section}", section, StringComparison.Ordinal)] = value;

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddAnalysisPlatforms(configuration);
        return new PlatformScenario(stub, services.BuildServiceProvider(), platform);
    }

    public static string EndpointOf(string platform) => platform switch
    {
        PlatformNames.OpenAi => "/v1/responses",
        PlatformNames.Claude => "/v1/messages",
        PlatformNames.Gemini => "/v1beta/models/{**rest}",
        PlatformNames.Perplexity => "/v1/agent",
        _ => throw new ArgumentOutOfRangeException(nameof(platform), platform, null),
    };

    public static string SectionOf(string platform) => platform switch
    {
        PlatformNames.OpenAi => "OpenAi",
        PlatformNames.Claude => "Claude",
        PlatformNames.Gemini => "Gemini",
        PlatformNames.Perplexity => "Perplexity",
        _ => throw new ArgumentOutOfRangeException(nameof(platform), platform, null),
    };

    public async Task<PlatformError> AskExpectingErrorAsync(string prompt = "Which CRM should a startup use?")
    {
        var exception = await Assert.ThrowsAsync<PlatformCallException>(() => Platform.AskAsync(prompt));
        return exception.Error;
    }

    public JsonElement OnlyRequestBody()
    {
        var request = Assert.Single(Calls);
        using var document = JsonDocument.Parse(request.Body);
        return document.RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await Stub.DisposeAsync();
    }
}
