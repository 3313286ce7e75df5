using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Sagas.Core.Configuration;

namespace Sagas.LlmJobs.Providers;

/// <summary>How often and how patiently a provider call is repeated after a transient failure.</summary>
public sealed class LlmRetrySettings : IValidatableObject
{
    /// <summary>Retries after the first attempt; 0 leaves every retry to the caller (e.g. the saga's next poll).</summary>
    [Range(0, 10)]
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>First backoff step; later steps double, with jitter so that many workers do not retry in step.</summary>
    [Positive]
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Longest wait between two attempts. A Retry-After longer than this is not waited for in-process: the call
    /// fails with the transient error and its RetryAfter, and the workflow reschedules instead of holding a worker.
    /// </summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxDelay < BaseDelay)
        {
            yield return new ValidationResult(
                $"{validationContext.Key(nameof(MaxDelay))} ({MaxDelay}) is shorter than {validationContext.Key(nameof(BaseDelay))} ({BaseDelay}).");
        }
    }
}

/// <summary>
/// Polly pipeline that retries <see cref="LlmProviderException"/>s classified transient, honouring the provider's
/// Retry-After, and never retries permanent ones.
/// </summary>
public static class LlmRetryPipeline
{
    /// <param name="repeatsWhenOutcomeUnknown">False for calls that create billed work: a failure without an answer may
    /// have created it, so only answers that say nothing was done (429, 5xx) are retried.</param>
    public static ResiliencePipeline Create(LlmRetrySettings settings, TimeProvider timeProvider, ILogger logger, bool repeatsWhenOutcomeUnknown = true)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        if (settings.MaxRetryAttempts <= 0)
            return builder.Build();

        return builder
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = settings.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = settings.BaseDelay,
                MaxDelay = settings.MaxDelay,
                ShouldHandle = new PredicateBuilder().Handle<LlmProviderException>(ex => ShouldRetry(ex, settings) && (repeatsWhenOutcomeUnknown || !ex.OutcomeUnknown)),
                DelayGenerator = static args => ValueTask.FromResult(
                    args.Outcome.Exception is LlmProviderException { Error.RetryAfter: { } retryAfter } ? retryAfter : (TimeSpan?)null),
                OnRetry = args =>
                {
                    if (args.Outcome.Exception is LlmProviderException ex)
                    {
                        logger.LogWarning(
                            "{Provider} {Operation} failed transiently ({Error}); attempt {Attempt} of {MaxAttempts} in {Delay}",
                            ex.Provider, ex.Operation, ex.Error, args.AttemptNumber + 2, settings.MaxRetryAttempts + 1, args.RetryDelay);
                    }

                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public static bool ShouldRetry(LlmProviderException exception, LlmRetrySettings settings) =>
        exception.IsTransient && (exception.Error.RetryAfter is not { } retryAfter || retryAfter <= settings.MaxDelay);
}
