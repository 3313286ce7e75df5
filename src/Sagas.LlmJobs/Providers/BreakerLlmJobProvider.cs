using Sagas.Core.Http;
using Sagas.Modules.Breakers;

namespace Sagas.LlmJobs.Providers;

/// <summary>
/// Puts a provider behind its circuit breakers, outside the provider's own retries: a call that meets an open breaker
/// sends nothing and spends no retry; it fails with the transient error <see cref="LlmErrorCodes.CircuitOpen"/> and a
/// RetryAfter, which the consumers already turn into a deferral (items stay queued and the submission is scheduled
/// again; a poll leaves its items processing for the next poll). Submissions go through the breaker of their model;
/// status checks, result reads and cancels, which name no model, through the provider's own (model "").
/// </summary>
internal sealed class BreakerLlmJobProvider(ILlmJobProvider inner, ProviderBreakers breakers, TimeProvider clock) : ILlmJobProvider
{
    public string Name => inner.Name;

    public bool IsSimulated => inner.IsSimulated;

    public string DefaultModel => inner.DefaultModel;

    public LlmProviderLimits Limits => inner.Limits;

    public RateLimitSnapshot LatestRateLimit => inner.LatestRateLimit;

    public Task<LlmItemSubmission> SubmitItemAsync(LlmItemRequest request, CancellationToken cancellationToken) =>
        GuardAsync(request.Model ?? inner.DefaultModel, "submit", token => inner.SubmitItemAsync(request, token), cancellationToken);

    public Task<LlmItemOutcome> GetItemAsync(string providerTaskId, CancellationToken cancellationToken) =>
        GuardAsync("", "get", token => inner.GetItemAsync(providerTaskId, token), cancellationToken);

    public Task<LlmItemOutcome> CancelItemAsync(string providerTaskId, CancellationToken cancellationToken) =>
        GuardAsync("", "cancel", token => inner.CancelItemAsync(providerTaskId, token), cancellationToken);

    public IReadOnlyList<IReadOnlyList<LlmItemRequest>> PlanBatches(IReadOnlyList<LlmItemRequest> items) => inner.PlanBatches(items);

    public Task<LlmBatchSubmission> SubmitBatchAsync(LlmBatchRequest request, CancellationToken cancellationToken) =>
        GuardAsync((request.Items.Count > 0 ? request.Items[0].Model : null) ?? inner.DefaultModel, "submit batch", token => inner.SubmitBatchAsync(request, token), cancellationToken);

    public Task<LlmBatchSubmission?> FindBatchAsync(string reference, DateTimeOffset createdAfter, CancellationToken cancellationToken) =>
        GuardAsync("", "find batch", token => inner.FindBatchAsync(reference, createdAfter, token), cancellationToken);

    public Task<LlmBatchStatus> GetBatchAsync(string batchId, CancellationToken cancellationToken) =>
        GuardAsync("", "get batch", token => inner.GetBatchAsync(batchId, token), cancellationToken);

    public Task<LlmBatchResults> ReadBatchResultsAsync(LlmBatchStatus batch, CancellationToken cancellationToken) =>
        GuardAsync("", "read batch results", token => inner.ReadBatchResultsAsync(batch, token), cancellationToken);

    public Task<LlmBatchStatus> CancelBatchAsync(string batchId, CancellationToken cancellationToken) =>
        GuardAsync("", "cancel batch", token => inner.CancelBatchAsync(batchId, token), cancellationToken);

    /// <summary>5xx, 408, timeouts and lost connections count; 429 is the rate limits' business and 4xx the request's.</summary>
    internal static bool CountsAsFailure(LlmProviderException exception) =>
        exception.Error.StatusCode is { } status
            ? status is 408 or >= 500
            : exception.Error.Code is LlmErrorCodes.Timeout or LlmErrorCodes.ConnectionFailed;

    private async Task<T> GuardAsync<T>(string model, string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var breaker = breakers.For(inner.Name, model);
        var permit = await breaker.EnterAsync(cancellationToken);
        if (!permit.IsAllowed)
        {
            throw new LlmProviderException(inner.Name, operation, new LlmProviderError(
                LlmErrorKind.Transient,
                LlmErrorCodes.CircuitOpen,
                $"The circuit breaker of {breaker.Key} is open; nothing was sent.",
                RetryAfter: permit.RetryAfter), RateLimitSnapshot.None(clock.GetUtcNow()));
        }

        T result;
        try
        {
            result = await call(cancellationToken);
        }
        catch (LlmProviderException exception)
        {
            await breaker.CompleteAsync(permit, CountsAsFailure(exception), CancellationToken.None);
            throw;
        }

        await breaker.CompleteAsync(permit, failed: false, CancellationToken.None);
        return result;
    }
}
