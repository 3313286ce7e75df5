using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.Components.Tests.PromptAnalyses.Platforms;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Benchmarks.PromptAnalyses;

/// <summary>
/// The four providers on one loopback port, answering in their real shapes and enforcing their own requests-per-minute
/// limit as a provider would: a request that would make any 60 s window hold more than the limit gets a 429.
/// </summary>
internal sealed class ProviderStubs : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Dictionary<string, PlatformLog> _logs;

    private ProviderStubs(WebApplication app, Dictionary<string, PlatformLog> logs, Uri baseAddress)
    {
        _app = app;
        _logs = logs;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public PlatformLog this[string platform] => _logs[platform];

    public static async Task<ProviderStubs> StartAsync(IReadOnlyDictionary<string, int> limits, TimeSpan latency)
    {
        var logs = limits.ToDictionary(pair => pair.Key, pair => new PlatformLog(pair.Value));
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        foreach (var (platform, log) in logs)
        {
            var body = AnswerOf(platform);
            app.MapPost(EndpointOf(platform), async () =>
            {
                if (!log.Admit(DateTimeOffset.UtcNow))
                    return Results.Text("""{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}""", "application/json", statusCode: 429);
                if (latency > TimeSpan.Zero)
                    await Task.Delay(latency);
                return Results.Text(body, "application/json");
            });
        }

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ProviderStubs(app, logs, new Uri(address.TrimEnd('/') + "/"));
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

    private static string AnswerOf(string platform) => platform switch
    {
        PlatformNames.OpenAi => ProviderShapes.OpenAiResponseWithWebSearch,
        PlatformNames.Claude => ProviderShapes.ClaudeMessageWithWebSearch,
        PlatformNames.Gemini => ProviderShapes.GeminiGroundedAnswer,
        PlatformNames.Perplexity => ProviderShapes.PerplexityCompleted,
        _ => throw new ArgumentOutOfRangeException(nameof(platform), platform, null),
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Admitted request times and refusals of one provider.</summary>
    internal sealed class PlatformLog(int requestsPerMinute)
    {
        private readonly Queue<DateTimeOffset> _lastMinute = new();
        private readonly ConcurrentQueue<DateTimeOffset> _admitted = new();
        private int _refused;

        public int Refused => Volatile.Read(ref _refused);

        public IReadOnlyList<DateTimeOffset> Admitted => [.. _admitted];

        /// <summary>The most requests any 60 s window held.</summary>
        public int BusiestMinute => BusiestWindow(Admitted, TimeSpan.FromMinutes(1));

        public bool Admit(DateTimeOffset now)
        {
            lock (_lastMinute)
            {
                while (_lastMinute.Count > 0 && now - _lastMinute.Peek() >= TimeSpan.FromMinutes(1))
                    _lastMinute.Dequeue();
                if (requestsPerMinute > 0 && _lastMinute.Count >= requestsPerMinute)
                {
                    _refused++;
                    return false;
                }

                _lastMinute.Enqueue(now);
                _admitted.Enqueue(now);
                return true;
            }
        }
    }

    public static int BusiestWindow(IEnumerable<DateTimeOffset> times, TimeSpan window)
    {
        var sorted = times.Order().ToList();
        var busiest = 0;
        for (int first = 0, last = 0; last < sorted.Count; last++)
        {
            while (sorted[last] - sorted[first] >= window)
                first++;
            busiest = Math.Max(busiest, last - first + 1);
        }

        return busiest;
    }
}
