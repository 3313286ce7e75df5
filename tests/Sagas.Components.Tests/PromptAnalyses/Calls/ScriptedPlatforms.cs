using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Sagas.Core.Http;
using Sagas.PromptAnalyses.Calls;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.PromptAnalyses.Calls;

/// <summary>A platform that plays a script: each attempt takes the next step (an answer or a failure) and records when it ran.</summary>
internal sealed class ScriptedPlatform(string name, TimeProvider clock, params Func<DateTimeOffset, object>[] script) : IAnalysisPlatform
{
    private int _next;

    public string Name { get; } = name;

    public bool IsSimulated { get; init; }

    public string DefaultModel => "scripted-1";

    public ConcurrentQueue<DateTimeOffset> Attempts { get; } = new();

    public Task<PlatformAnswer> AskAsync(string prompt, string? model = null, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        Attempts.Enqueue(now);
        var index = Interlocked.Increment(ref _next) - 1;
        var step = script.Length == 0 ? Answer(Name, RateLimitSnapshot.None(now)) : script[Math.Min(index, script.Length - 1)](now);
        return step switch
        {
            PlatformAnswer answer => Task.FromResult(answer),
            PlatformError error => Task.FromException<PlatformAnswer>(new PlatformCallException(error)),
            _ => throw new InvalidOperationException("A script step is an answer or an error."),
        };
    }

    public static PlatformAnswer Answer(string platform, RateLimitSnapshot rateLimit, long tokens = 100) => new()
    {
        Platform = platform,
        IsSimulated = false,
        Model = "scripted-1",
        Text = "An answer.",
        InputTokens = tokens / 2,
        OutputTokens = tokens - (tokens / 2),
        TotalTokens = tokens,
        ExecutionTime = TimeSpan.Zero,
        Citations = [],
        Metadata = new AnswerMetadata(),
        RateLimit = rateLimit,
    };

    public static PlatformError Error(string platform, PlatformErrorKind kind, bool transient, int status, DateTimeOffset now, TimeSpan? retryAfter = null) => new()
    {
        Platform = platform,
        Kind = kind,
        IsTransient = transient,
        HttpStatus = status,
        Message = $"scripted {kind}",
        RetryAfter = retryAfter,
        RateLimit = new RateLimitSnapshot { ObservedAt = now, RetryAfter = retryAfter },
    };
}

internal sealed class ScriptedCatalog(params IAnalysisPlatform[] platforms) : IAnalysisPlatformCatalog
{
    public IReadOnlyList<string> Names { get; } = [.. platforms.Select(p => p.Name)];

    public bool Contains(string name) => Names.Contains(PlatformNames.Normalize(name));

    public IAnalysisPlatform Get(string name) => platforms.Single(p => p.Name == PlatformNames.Normalize(name));
}

/// <summary>The caller as the hosts compose it (in-memory budget, SQLite-style), with scripted platforms and a fake clock.</summary>
internal static class CallerScenario
{
    public static ServiceProvider Build(FakeTimeProvider clock, IAnalysisPlatformCatalog catalog, IDictionary<string, string?>? settings = null, Func<double>? random = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings ?? new Dictionary<string, string?>()).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(clock);
        if (random is not null)
            services.AddSingleton(provider => new PlatformRetryPolicy(provider.GetRequiredService<PlatformLimitsOptions>().Retry, random));
        services.AddPlatformCalls(configuration);
        services.AddSingleton(catalog);
        return services.BuildServiceProvider();
    }
}
