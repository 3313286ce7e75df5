using Sagas.Core.Http;

namespace Sagas.LlmJobs.Providers;

/// <summary>
/// What the LLM-job workflow needs from a model provider, in both submission modes. Implementations are singletons,
/// thread-safe and stateless between calls as far as the provider allows, so any worker instance can poll any task.
/// </summary>
/// <remarks>
/// Transport failures (HTTP errors, timeouts, rate limits) are thrown as <see cref="LlmProviderException"/>, already
/// classified transient or permanent. A per-item failure reported by the provider (a failed response, an error line
/// in a batch, an answer that is not a valid decision) is data, returned in the outcome with its
/// <see cref="LlmProviderError"/>.
/// </remarks>
public interface ILlmJobProvider
{
    /// <summary>Configuration name, e.g. <c>openai</c> or <c>simulated</c>; stored with each job.</summary>
    string Name { get; }

    /// <summary>True when results are invented: every place that shows them must label them as simulated.</summary>
    bool IsSimulated { get; }

    /// <summary>Model used when a job does not name one.</summary>
    string DefaultModel { get; }

    LlmProviderLimits Limits { get; }

    /// <summary>The rate-limit headers of the most recent provider answer (empty until there is one).</summary>
    RateLimitSnapshot LatestRateLimit { get; }

    /// <summary>
    /// Background mode: starts one provider task for one item. Not idempotent (OpenAI's Responses API has no idempotency
    /// key and no list to find a response in), so a call whose answer never came is not repeated here: it fails with an
    /// <see cref="LlmProviderException"/> whose <see cref="LlmProviderException.OutcomeUnknown"/> is true.
    /// </summary>
    Task<LlmItemSubmission> SubmitItemAsync(LlmItemRequest request, CancellationToken cancellationToken);

    /// <summary>Background mode: the current state of a task; terminal outcomes carry the decision or the error.</summary>
    Task<LlmItemOutcome> GetItemAsync(string providerTaskId, CancellationToken cancellationToken);

    /// <summary>
    /// Background mode: asks the provider to stop a task. Idempotent: a task that already finished returns its
    /// terminal outcome instead of failing.
    /// </summary>
    Task<LlmItemOutcome> CancelItemAsync(string providerTaskId, CancellationToken cancellationToken);

    /// <summary>
    /// Batch mode: splits items into chunks that each fit one provider batch (item count and file size), in order.
    /// The caller submits each chunk with <see cref="SubmitBatchAsync"/> and records its batch id before the next,
    /// so a crash between two chunks never leaves a batch nobody knows about.
    /// </summary>
    IReadOnlyList<IReadOnlyList<LlmItemRequest>> PlanBatches(IReadOnlyList<LlmItemRequest> items);

    /// <summary>
    /// Batch mode: submits one chunk as one provider batch; the chunk must fit <see cref="Limits"/>. Idempotent per
    /// <see cref="LlmBatchRequest.Reference"/> within the call: when the answer to the create is lost, the batch is looked
    /// up by its reference before another is created.
    /// </summary>
    Task<LlmBatchSubmission> SubmitBatchAsync(LlmBatchRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Batch mode: the batch created under <paramref name="reference"/> no earlier than <paramref name="createdAfter"/>,
    /// or null. How a submission that a crash cut off finds what it already created.
    /// </summary>
    Task<LlmBatchSubmission?> FindBatchAsync(string reference, DateTimeOffset createdAfter, CancellationToken cancellationToken);

    Task<LlmBatchStatus> GetBatchAsync(string batchId, CancellationToken cancellationToken);

    /// <summary>
    /// Reads the per-item results of a batch that has output or error files (finished lines of an expired or
    /// cancelled batch included). Items the files do not mention are absent: see <see cref="LlmBatchResults.MissingItems"/>.
    /// </summary>
    Task<LlmBatchResults> ReadBatchResultsAsync(LlmBatchStatus batch, CancellationToken cancellationToken);

    Task<LlmBatchStatus> CancelBatchAsync(string batchId, CancellationToken cancellationToken);
}

/// <summary>Limits the API validates requests against before anything is published.</summary>
/// <param name="MaxItemsPerBatch">Lines per provider batch (OpenAI: 50,000).</param>
/// <param name="MaxBatchFileBytes">Size of one batch input file (OpenAI: 200 MB).</param>
/// <param name="MaxInputCharacters">Longest accepted item input.</param>
/// <param name="MaxItemIdLength">Longest item id (OpenAI's <c>custom_id</c> is limited to 64 characters).</param>
public sealed record LlmProviderLimits(int MaxItemsPerBatch, long MaxBatchFileBytes, int MaxInputCharacters, int MaxItemIdLength);
