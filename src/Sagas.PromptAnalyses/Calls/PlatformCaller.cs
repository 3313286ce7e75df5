using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;
using Sagas.Modules.Breakers;
using Sagas.Core.Http;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.PromptAnalyses.Calls;

/// <summary>
/// Asks a platform under its cluster-wide budget with the retry policy: every attempt takes a permit from
/// <see cref="PlatformRateLimiter"/>, and every answer or failure feeds the provider's rate-limit headers back into
/// the shared budget before the next permit is handed out.
/// </summary>
internal sealed class PlatformCaller : IPlatformCaller
{
    private readonly IAnalysisPlatformCatalog _catalog;
    private readonly PlatformRateLimiter _limiter;
    private readonly IRateBudgetStore _store;
    private readonly PlatformLimitsOptions _limits;
    private readonly TimeProvider _time;
    private readonly ILogger<PlatformCaller> _logger;
    private readonly ResiliencePipeline<PlatformCallOutcome> _retries;
    private readonly ProviderBreakers? _breakers;

    public PlatformCaller(
        IAnalysisPlatformCatalog catalog,
        PlatformRateLimiter limiter,
        IRateBudgetStore store,
        PlatformLimitsOptions limits,
        PlatformRetryPolicy policy,
        TimeProvider time,
        ILogger<PlatformCaller>? logger = null,
        ProviderBreakers? breakers = null)
    {
        // Switched off, the caller keeps no breakers at all and runs as it did before they existed.
        _breakers = breakers is { Enabled: true } ? breakers : null;
        _catalog = catalog;
        _limiter = limiter;
        _store = store;
        _limits = limits;
        _time = time;
        _logger = logger ?? NullLogger<PlatformCaller>.Instance;
        var builder = new ResiliencePipelineBuilder<PlatformCallOutcome> { TimeProvider = time };
        if (policy.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<PlatformCallOutcome>
            {
                MaxRetryAttempts = policy.MaxRetries,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result?.Error is { Kind: not PlatformErrorKind.BreakerOpen } error && policy.ShouldRetry(error)),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(policy.DelayBefore(args.AttemptNumber, args.Outcome.Result?.Error?.RetryAfter)),
                OnRetry = args =>
                {
                    _logger.LogInformation("Retrying {Platform} in {Delay} after {Error}", args.Outcome.Result?.Error?.Platform, args.RetryDelay, args.Outcome.Result?.Error);
                    return ValueTask.CompletedTask;
                },
            });
        }

        _retries = builder.Build();
    }

    public async Task<PlatformCallOutcome> CallAsync(string platform, string prompt, string? model, CancellationToken cancellationToken)
    {
        var name = PlatformNames.Normalize(platform);
        if (name is null || !_catalog.Contains(name))
        {
            return PlatformCallOutcome.Failure(new PlatformError
            {
                Platform = platform,
                Model = model,
                Kind = PlatformErrorKind.InvalidRequest,
                IsTransient = false,
                Message = $"Platform '{platform}' is not available here. Available: {string.Join(", ", _catalog.Names)}.",
                RateLimit = RateLimitSnapshot.None(_time.GetUtcNow()),
            }, 0);
        }

        // A simulated stand-in answers in a real platform's name but asks no provider: it spends the simulated budget, so
        // the embedded default is not held to Gemini's 10 requests a minute for answers made up locally.
        var budget = _catalog.Get(name).IsSimulated ? PlatformNames.Simulated : name;
        var rate = _limits.RateFor(budget);
        var estimate = EstimateTokens(prompt);
        // The breaker is asked before the retries, so a call it turns away spends none; a probe is one request, never retried.
        // A simulated stand-in asks no provider, so there is nothing to protect: its made-up failures open no breaker.
        var breaker = budget == PlatformNames.Simulated ? null : _breakers?.For(budget, model);
        var permit = breaker is null ? BreakerPermit.Call : await breaker.EnterAsync(cancellationToken);
        if (!permit.IsAllowed)
            return PlatformCallOutcome.Failure(BreakerOpen(name, model, breaker!.Key, permit.RetryAfter), 0);

        var attempts = 0;
        if (permit.IsProbe)
        {
            attempts = 1;
            var probe = await AttemptUnderLimitsAsync(name, budget, prompt, model, rate, estimate, cancellationToken);
            var failed = CountsAsFailure(probe);
            await breaker!.CompleteProbeAsync(failed, CancellationToken.None);
            // A failed probe reopened the breaker: its ask waits with the others instead of failing the analysis.
            return failed ? PlatformCallOutcome.Failure(BreakerOpen(name, model, breaker.Key, breaker.Settings.BreakDuration), attempts) : probe;
        }

        var outcome = await _retries.ExecuteAsync(
            async token =>
            {
                // A breaker that opened meanwhile ends the retries here: the rest of the work waits for it, not for backoff.
                if (attempts > 0 && breaker is { State: not BreakerState.Closed })
                    return PlatformCallOutcome.Failure(BreakerOpen(name, model, breaker.Key, _breakers!.ReportInterval), 0);
                attempts++;
                var attempt = await AttemptUnderLimitsAsync(name, budget, prompt, model, rate, estimate, token);
                breaker?.Record(CountsAsFailure(attempt));
                return attempt;
            },
            cancellationToken);
        return outcome with { Attempts = attempts };
    }

    private async Task<PlatformCallOutcome> AttemptUnderLimitsAsync(string name, string budget, string prompt, string? model, PlatformRate rate, long estimate, CancellationToken cancellationToken)
    {
        using (var lease = await _limiter.AcquireAsync(new PlatformPermitRequest(budget, estimate), 1, cancellationToken))
        {
            // The limiter waits instead of refusing, so a refusal here is a broken invariant, not a provider failure.
            if (!lease.IsAcquired)
                throw new InvalidOperationException($"The {name} limiter refused a permit it should have queued.");
        }

        return await AttemptAsync(name, budget, prompt, model, rate, estimate, cancellationToken);
    }

    /// <summary>
    /// What the breaker counts: 5xx, overload, timeouts and lost connections. A 429 is the rate budget's business, and
    /// every other error is the request's or the account's, from a provider that answered.
    /// </summary>
    internal static bool CountsAsFailure(PlatformCallOutcome outcome) =>
        outcome.Error?.Kind is PlatformErrorKind.ServerError or PlatformErrorKind.Overloaded or PlatformErrorKind.Timeout or PlatformErrorKind.Network;

    private PlatformError BreakerOpen(string name, string? model, BreakerKey key, TimeSpan retryAfter) => new()
    {
        Platform = name,
        Model = model,
        Kind = PlatformErrorKind.BreakerOpen,
        IsTransient = true,
        Message = $"The circuit breaker of {key} is open; nothing was sent.",
        RetryAfter = retryAfter,
        RateLimit = RateLimitSnapshot.None(_time.GetUtcNow()),
    };

    private async Task<PlatformCallOutcome> AttemptAsync(string name, string budget, string prompt, string? model, PlatformRate rate, long estimate, CancellationToken cancellationToken)
    {
        PromptAnalysisMetrics.PlatformCalled(name);
        try
        {
            var answer = await _catalog.Get(name).AskAsync(prompt, model, cancellationToken);
            if (!rate.IsUnlimited)
            {
                await _store.AdjustTokensAsync(budget, rate, answer.TotalTokens - estimate, cancellationToken);
                await _store.ObserveAsync(budget, RateBudgetObservation.From(answer.RateLimit, null), cancellationToken);
            }

            return PlatformCallOutcome.Success(answer, 1);
        }
        catch (PlatformCallException exception)
        {
            if (!rate.IsUnlimited)
                await _store.ObserveAsync(budget, RateBudgetObservation.From(exception.Error.RateLimit, exception.Error), cancellationToken);
            return PlatformCallOutcome.Failure(exception.Error, 1);
        }
    }

    /// <summary>Roughly four characters a token for the prompt, plus the configured allowance for the answer.</summary>
    private long EstimateTokens(string prompt) => (prompt.Length / 4) + 1 + _limits.EstimatedOutputTokens;
}
