using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Sagas.Core.Http;
using Sagas.PromptAnalyses.Platforms.Http;
using Sagas.Modules.Usage;

namespace Sagas.PromptAnalyses.Platforms.Simulated;

/// <summary>
/// A local stand-in for a provider, for the embedded default and for load tests: answers, failures and 429s are drawn
/// deterministically from the seed, the platform name, the model, the prompt and how often that prompt was asked
/// before (so a retry can succeed where the first attempt failed). Every answer is labelled simulated.
/// </summary>
internal sealed class SimulatedPlatform : IAnalysisPlatform
{
    private const int MaxTrackedPrompts = 100_000;

    private static readonly string[] DefaultCitationDomains =
        ["en.wikipedia.org", "www.example.com", "www.techradar.com", "www.g2.com", "www.reddit.com", "www.forbes.com"];

    private static readonly string[] Openers =
    [
        "Here is an overview based on current sources.",
        "Several options stand out.",
        "The short answer depends on your needs.",
        "Reviews and comparisons point in a few directions.",
    ];

    private readonly SimulatedPlatformOptions _options;
    private readonly PriceTable _prices;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);

    public SimulatedPlatform(string name, SimulatedPlatformOptions options, PriceTable prices, TimeProvider time)
    {
        Name = name;
        _options = options;
        _prices = prices;
        _time = time;
    }

    public string Name { get; }

    public bool IsSimulated => true;

    public string DefaultModel => _options.Model;

    public async Task<PlatformAnswer> AskAsync(string prompt, string? model = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prompt);
        // A stand-in always answers as the simulated model, so its answers are never priced as the real one's.
        var modelToAsk = DefaultModel;
        var requested = string.IsNullOrWhiteSpace(model) ? null : model.Trim();
        using var activity = PlatformCall.StartActivity(Name, modelToAsk);
        var started = _time.GetTimestamp();

        var key = $"{Name}\n{modelToAsk}\n{prompt}";
        if (_attempts.Count > MaxTrackedPrompts)
            _attempts.Clear();
        var attempt = _attempts.AddOrUpdate(key, 1, (_, previous) => previous + 1);
        var random = new Random(SeedFor(key, attempt));

        var latency = TimeSpan.FromMilliseconds(random.Next(_options.MinLatencyMs, _options.MaxLatencyMs + 1));
        if (latency > TimeSpan.Zero)
            await Task.Delay(latency, _time, cancellationToken);

        var elapsed = _time.GetElapsedTime(started);
        var now = _time.GetUtcNow();
        var roll = random.NextDouble();
        if (roll < _options.RateLimitRate)
        {
            var retryAfter = TimeSpan.FromSeconds(random.Next(1, 6));
            var rateLimit = new RateLimitSnapshot { ObservedAt = now, RemainingRequests = 0, RequestsResetAt = now + retryAfter, RetryAfter = retryAfter };
            throw PlatformCall.Failure(
                Name, modelToAsk, PlatformErrorKind.RateLimited, true, "Simulated rate limit reached.", rateLimit, elapsed, activity,
                429, "rate_limit_exceeded");
        }

        if (roll < _options.RateLimitRate + _options.FailureRate)
        {
            throw PlatformCall.Failure(
                Name, modelToAsk, PlatformErrorKind.ServerError, true, "Simulated server error.", RateLimitSnapshot.None(now), elapsed, activity,
                500, "simulated_server_error");
        }

        var reply = Compose(prompt, modelToAsk, random);
        if (requested is not null && requested != modelToAsk)
            reply = reply with { Warnings = [$"simulated answer standing in for model {requested}"] };
        return PlatformCall.Answer(Name, true, reply, elapsed, RateLimitSnapshot.None(now), _prices, now, activity);
    }

    private ProviderReply Compose(string prompt, string model, Random random)
    {
        var brandCandidates = _options.Brands
            .Concat(prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Skip(1)
                .Select(word => word.Trim('?', '!', '.', ',', ':', ';', '"', '\''))
                .Where(word => word.Length > 2 && char.IsUpper(word[0])))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        var mentioned = brandCandidates.Count > 0 && random.NextDouble() < 0.5
            ? brandCandidates.OrderBy(_ => random.Next()).Take(random.Next(1, 3)).ToList()
            : [];

        var text = new StringBuilder(Openers[random.Next(Openers.Length)]);
        foreach (var brand in mentioned)
            text.Append(' ').Append(brand).Append(" is frequently recommended for this.");
        text.Append(" (Simulated answer to: \"").Append(prompt.Length > 120 ? prompt[..120] + "…" : prompt).Append("\")");

        var domains = _options.CitationDomains.Count > 0 ? _options.CitationDomains : [.. DefaultCitationDomains];
        var citations = Enumerable.Range(0, random.Next(0, 5))
            .Select(index =>
            {
                var useBrandSite = mentioned.Count > 0 && random.NextDouble() < 0.3;
                var domain = useBrandSite
                    ? new string(mentioned[0].ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).ToArray()) + ".com"
                    : domains[random.Next(domains.Count)];
                return new RawCitation($"https://{domain}/articles/simulated-{random.Next(1000, 9999)}", $"Simulated source {index + 1}");
            })
            .ToList();

        var inputTokens = Math.Max(1, prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length * 4 / 3);
        var outputTokens = Math.Max(1, text.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length * 4 / 3);
        return new ProviderReply
        {
            Model = model,
            Text = text.ToString(),
            InputTokens = inputTokens,
            OutputTokens = outputTokens,
            Citations = citations,
            ResponseId = $"sim_{random.NextInt64():x16}",
            FinishReason = "stop",
            WebSearchCalls = citations.Count > 0 ? 1 : 0,
        };
    }

    private int SeedFor(string key, int attempt)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes($"{_options.Seed}\n{attempt}\n{key}"));
        return BitConverter.ToInt32(bytes, 0);
    }
}
