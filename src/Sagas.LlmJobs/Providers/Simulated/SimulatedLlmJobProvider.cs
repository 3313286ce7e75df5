using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Polly;
using Sagas.Core.Http;

namespace Sagas.LlmJobs.Providers.Simulated;

/// <summary>
/// An invented provider for the embedded default, demos and benchmarks. Everything about an item (decision,
/// failure, time to finish, token counts) follows from the seed and the item id, and its task id carries the item
/// id and the submission time, so polling needs no stored state and any worker instance can answer for any task.
/// Only cancellations and batches are held in memory (lost on restart: a later poll of such a batch is a 404).
/// </summary>
public sealed class SimulatedLlmJobProvider : ILlmJobProvider
{
    private const string TaskPrefix = "simresp_";
    private const string BatchPrefix = "simbatch_";
    private const string OutputFilePrefix = "simout_";
    private const string ErrorFilePrefix = "simerr_";

    /// <summary>Share of an item's processing time it spends queued before it is in progress.</summary>
    private const double QueuedShare = 0.2;

    private static readonly string[] FlaggedCategories = ["spam", "abuse", "personal_data", "misinformation", "off_topic"];

    private readonly SimulatedProviderOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ResiliencePipeline _retry;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _cancelledTasks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SimulatedBatch> _batches = new(StringComparer.Ordinal);
    private long _callCount;
    private long _batchCount;
    private RateLimitSnapshot _latestRateLimit;

    public SimulatedLlmJobProvider(SimulatedProviderOptions options, TimeProvider timeProvider, ILogger<SimulatedLlmJobProvider> logger)
    {
        _options = options;
        _timeProvider = timeProvider;
        _latestRateLimit = RateLimitSnapshot.None(timeProvider.GetUtcNow());
        _retry = LlmRetryPipeline.Create(options.Retry, timeProvider, logger);
        Limits = new LlmProviderLimits(options.MaxItemsPerBatch, OpenAiProviderOptions.BatchFileByteLimit, options.MaxInputCharacters, MaxItemIdLength: 64);
    }

    public string Name => SimulatedProviderOptions.ProviderName;

    public bool IsSimulated => true;

    public string DefaultModel => _options.DefaultModel;

    public LlmProviderLimits Limits { get; }

    public RateLimitSnapshot LatestRateLimit => Volatile.Read(ref _latestRateLimit);

    /// <summary>When the item would finish if submitted at <paramref name="submittedAt"/>; exposed for tests and benchmarks.</summary>
    public DateTimeOffset CompletionTime(string itemId, DateTimeOffset submittedAt) => submittedAt + Profile(itemId).Latency;

    public Task<LlmItemSubmission> SubmitItemAsync(LlmItemRequest request, CancellationToken cancellationToken) =>
        RunAsync("submit-item", request.ItemId, () =>
        {
            if (request.Input.Length > _options.MaxInputCharacters)
                throw Permanent("submit-item", 400, "invalid_request_error", $"The input has {request.Input.Length} characters; at most {_options.MaxInputCharacters} are accepted.");

            var submittedAt = _timeProvider.GetUtcNow();
            var taskId = TaskPrefix + submittedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + "_" + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(request.ItemId));
            return new LlmItemSubmission(taskId, LlmItemStatus.Queued, RateLimitSnapshot.None(_timeProvider.GetUtcNow()));
        }, cancellationToken);

    public Task<LlmItemOutcome> GetItemAsync(string providerTaskId, CancellationToken cancellationToken) =>
        RunAsync("get-item", providerTaskId, () => Outcome(providerTaskId, _timeProvider.GetUtcNow()), cancellationToken);

    public Task<LlmItemOutcome> CancelItemAsync(string providerTaskId, CancellationToken cancellationToken) =>
        RunAsync("cancel-item", providerTaskId, () =>
        {
            var now = _timeProvider.GetUtcNow();
            var current = Outcome(providerTaskId, now);
            if (current.Status.IsTerminal())
                return current;

            _cancelledTasks.TryAdd(providerTaskId, now);
            return Outcome(providerTaskId, now);
        }, cancellationToken);

    public IReadOnlyList<IReadOnlyList<LlmItemRequest>> PlanBatches(IReadOnlyList<LlmItemRequest> items) =>
        items.Chunk(_options.MaxItemsPerBatch).Select(chunk => (IReadOnlyList<LlmItemRequest>)chunk).ToList();

    public Task<LlmBatchSubmission> SubmitBatchAsync(LlmBatchRequest request, CancellationToken cancellationToken) =>
        RunAsync("submit-batch", request.Reference, () =>
        {
            if (request.Items.Count == 0 || request.Items.Count > _options.MaxItemsPerBatch)
                throw new ArgumentException($"A batch holds 1 to {_options.MaxItemsPerBatch} items; got {request.Items.Count}.", nameof(request));
            var itemIds = request.Items.Select(i => i.ItemId).ToArray();
            if (itemIds.Distinct(StringComparer.Ordinal).Count() != itemIds.Length)
                throw new ArgumentException("Item ids must be unique within a batch; results are matched by them.", nameof(request));

            var submittedAt = _timeProvider.GetUtcNow();
            var batchId = BatchPrefix + submittedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + "_" + Interlocked.Increment(ref _batchCount).ToString(CultureInfo.InvariantCulture);
            var batch = new SimulatedBatch(batchId, itemIds, submittedAt, request.Reference);
            _batches[batchId] = batch;
            return new LlmBatchSubmission(batchId, "simfile_" + batchId, itemIds.Length, BatchStatus(batch, submittedAt));
        }, cancellationToken);

    public Task<LlmBatchSubmission?> FindBatchAsync(string reference, DateTimeOffset createdAfter, CancellationToken cancellationToken) =>
        RunAsync("find-batch", reference, () =>
        {
            var now = _timeProvider.GetUtcNow();
            var batch = _batches.Values
                .Where(b => b.Reference == reference && b.SubmittedAt >= createdAfter)
                .OrderByDescending(b => b.SubmittedAt)
                .FirstOrDefault();
            return batch is null ? null : new LlmBatchSubmission(batch.BatchId, "simfile_" + batch.BatchId, batch.ItemIds.Length, BatchStatus(batch, now));
        }, cancellationToken);

    public Task<LlmBatchStatus> GetBatchAsync(string batchId, CancellationToken cancellationToken) =>
        RunAsync("get-batch", batchId, () => BatchStatus(FindBatch("get-batch", batchId), _timeProvider.GetUtcNow()), cancellationToken);

    public Task<LlmBatchResults> ReadBatchResultsAsync(LlmBatchStatus batch, CancellationToken cancellationToken) =>
        RunAsync("read-batch-results", batch.BatchId, () =>
        {
            var simulated = FindBatch("read-batch-results", batch.BatchId);
            var now = _timeProvider.GetUtcNow();
            var (cutoff, unfinishedError) = simulated.CancelledAt is { } cancelledAt
                ? (cancelledAt, new LlmProviderError(LlmErrorKind.Permanent, LlmErrorCodes.BatchCancelled, "This request was not executed because the batch was cancelled."))
                : (Min(now, simulated.ExpiresAt(_options)), new LlmProviderError(LlmErrorKind.Transient, LlmErrorCodes.BatchExpired, "This request could not be executed before the completion window expired."));
            var terminal = BatchStatus(simulated, now).State.IsTerminal();

            var results = new List<LlmBatchItemResult>(simulated.ItemIds.Length);
            foreach (var itemId in simulated.ItemIds)
            {
                var profile = Profile(itemId);
                if (simulated.SubmittedAt + profile.Latency <= cutoff)
                    results.Add(new LlmBatchItemResult(itemId, profile.Fails ? LlmItemStatus.Failed : LlmItemStatus.Succeeded, profile.Fails ? null : Decision(profile), profile.Usage, profile.Fails ? SimulatedFailure : null));
                else if (terminal)
                    results.Add(new LlmBatchItemResult(itemId, LlmItemStatus.Failed, null, null, unfinishedError));
            }

            return new LlmBatchResults(batch.BatchId, results, []);
        }, cancellationToken);

    public Task<LlmBatchStatus> CancelBatchAsync(string batchId, CancellationToken cancellationToken) =>
        RunAsync("cancel-batch", batchId, () =>
        {
            var batch = FindBatch("cancel-batch", batchId);
            var now = _timeProvider.GetUtcNow();
            if (!BatchStatus(batch, now).State.IsTerminal())
                batch.Cancel(now);
            return BatchStatus(batch, now);
        }, cancellationToken);

    private static readonly LlmProviderError SimulatedFailure =
        new(LlmErrorKind.Permanent, LlmErrorCodes.SimulatedFailure, "The simulated provider failed this item (configured FailureRate).");

    private LlmItemOutcome Outcome(string taskId, DateTimeOffset now)
    {
        if (!TryDecodeTaskId(taskId, out var itemId, out var submittedAt))
            throw Permanent("get-item", 404, LlmErrorCodes.NotFound, $"No simulated response with id '{taskId}'.");

        var profile = Profile(itemId);
        var completesAt = submittedAt + profile.Latency;
        if (_cancelledTasks.TryGetValue(taskId, out var cancelledAt) && cancelledAt < completesAt)
            return new LlmItemOutcome(taskId, LlmItemStatus.Cancelled, "cancelled", null, null, null, RateLimitSnapshot.None(_timeProvider.GetUtcNow()));

        if (now < submittedAt + (profile.Latency * QueuedShare))
            return new LlmItemOutcome(taskId, LlmItemStatus.Queued, "queued", null, null, null, RateLimitSnapshot.None(_timeProvider.GetUtcNow()));
        if (now < completesAt)
            return new LlmItemOutcome(taskId, LlmItemStatus.InProgress, "in_progress", null, null, null, RateLimitSnapshot.None(_timeProvider.GetUtcNow()));
        if (profile.Fails)
            return new LlmItemOutcome(taskId, LlmItemStatus.Failed, "failed", null, profile.Usage, SimulatedFailure, RateLimitSnapshot.None(_timeProvider.GetUtcNow()));
        return new LlmItemOutcome(taskId, LlmItemStatus.Succeeded, "completed", Decision(profile), profile.Usage, null, RateLimitSnapshot.None(_timeProvider.GetUtcNow()));
    }

    private LlmBatchStatus BatchStatus(SimulatedBatch batch, DateTimeOffset now)
    {
        var expiresAt = batch.ExpiresAt(_options);
        var cutoff = batch.CancelledAt is { } cancelledAt ? Min(cancelledAt, now) : Min(expiresAt, now);
        int completed = 0, failed = 0, unfinished = 0;
        foreach (var itemId in batch.ItemIds)
        {
            var profile = Profile(itemId);
            if (batch.SubmittedAt + profile.Latency > cutoff)
                unfinished++;
            else if (profile.Fails)
                failed++;
            else
                completed++;
        }

        LlmBatchState state;
        if (batch.CancelledAt is not null)
            state = LlmBatchState.Cancelled;
        else if (unfinished == 0)
            state = LlmBatchState.Completed;
        else if (now >= expiresAt)
            state = LlmBatchState.Expired;
        else if (now < batch.SubmittedAt + (_options.MinLatency * 0.1))
            state = LlmBatchState.Validating;
        else
            state = LlmBatchState.InProgress;

        var terminal = state.IsTerminal();
        var hasErrors = failed > 0 || (terminal && unfinished > 0);
        return new LlmBatchStatus(
            batch.BatchId,
            state,
            state switch
            {
                LlmBatchState.Validating => "validating",
                LlmBatchState.InProgress => "in_progress",
                LlmBatchState.Completed => "completed",
                LlmBatchState.Expired => "expired",
                _ => "cancelled",
            },
            new LlmBatchRequestCounts(batch.ItemIds.Length, completed, failed),
            terminal && completed + failed > 0 ? OutputFilePrefix + batch.BatchId : null,
            terminal && hasErrors ? ErrorFilePrefix + batch.BatchId : null,
            [],
            RateLimitSnapshot.None(_timeProvider.GetUtcNow()));
    }

    private SimulatedBatch FindBatch(string operation, string batchId) =>
        _batches.TryGetValue(batchId, out var batch)
            ? batch
            : throw Permanent(operation, 404, LlmErrorCodes.NotFound, $"No simulated batch with id '{batchId}' (simulated batches live in memory and do not survive a restart).");

    private ItemProfile Profile(string itemId)
    {
        var hash = DeterministicRandom.Hash(_options.Seed, "item", itemId);
        var latencyTicks = _options.MinLatency.Ticks + (long)((_options.MaxLatency.Ticks - _options.MinLatency.Ticks) * DeterministicRandom.Uniform(hash, 0));
        var fails = DeterministicRandom.Uniform(hash, 1) < _options.FailureRate;
        var flagged = DeterministicRandom.Uniform(hash, 2) < _options.FlaggedRate;
        var category = flagged ? FlaggedCategories[(int)(DeterministicRandom.Uniform(hash, 3) * FlaggedCategories.Length)] : "none";
        var confidence = Math.Round(flagged ? 0.6 + (0.4 * DeterministicRandom.Uniform(hash, 4)) : 0.7 + (0.3 * DeterministicRandom.Uniform(hash, 4)), 3);
        var usage = new LlmTokenUsage(100 + (long)(400 * DeterministicRandom.Uniform(hash, 5)), 20 + (long)(60 * DeterministicRandom.Uniform(hash, 6)));
        return new ItemProfile(TimeSpan.FromTicks(latencyTicks), fails, flagged, category, confidence, usage);
    }

    private FlagDecision Decision(ItemProfile profile) => new(
        profile.Flagged,
        profile.Category,
        profile.Confidence,
        profile.Flagged
            ? $"Simulated decision (seed {_options.Seed}): flagged as {profile.Category}."
            : $"Simulated decision (seed {_options.Seed}): nothing to flag.");

    /// <summary>
    /// Runs one simulated call through the same retry pipeline as a real provider, after deciding (from the seed
    /// and a call counter) whether this call is rate-limited.
    /// </summary>
    private async Task<T> RunAsync<T>(string operation, string key, Func<T> call, CancellationToken cancellationToken)
    {
        return await _retry.ExecuteAsync(
            token =>
            {
                token.ThrowIfCancellationRequested();
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var callNumber = Interlocked.Increment(ref _callCount);
                    if (_options.RateLimitRate > 0
                        && DeterministicRandom.Uniform(DeterministicRandom.Hash(_options.Seed, "429", key), callNumber) < _options.RateLimitRate)
                    {
                        throw RateLimited(operation);
                    }

                    var result = call();
                    LlmProviderMetrics.Record(Name, operation, "ok", started);
                    return ValueTask.FromResult(result);
                }
                catch (LlmProviderException ex)
                {
                    LlmProviderMetrics.Record(Name, operation, LlmProviderMetrics.OutcomeOf(ex), started);
                    throw;
                }
            },
            cancellationToken);
    }

    private LlmProviderException RateLimited(string operation)
    {
        var now = _timeProvider.GetUtcNow();
        var rateLimit = new RateLimitSnapshot { ObservedAt = now, RemainingRequests = 0, RequestsResetAt = now + _options.RateLimitRetryAfter, RetryAfter = _options.RateLimitRetryAfter };
        Volatile.Write(ref _latestRateLimit, rateLimit);
        return new LlmProviderException(
            Name,
            operation,
            new LlmProviderError(LlmErrorKind.Transient, LlmErrorCodes.RateLimitExceeded, "Simulated rate limit (configured RateLimitRate).", 429, _options.RateLimitRetryAfter),
            rateLimit);
    }

    private LlmProviderException Permanent(string operation, int status, string code, string message) =>
        new(Name, operation, new LlmProviderError(LlmErrorKind.Permanent, code, message, status), RateLimitSnapshot.None(_timeProvider.GetUtcNow()));

    private static bool TryDecodeTaskId(string taskId, out string itemId, out DateTimeOffset submittedAt)
    {
        itemId = string.Empty;
        submittedAt = default;
        if (!taskId.StartsWith(TaskPrefix, StringComparison.Ordinal))
            return false;
        var rest = taskId.AsSpan(TaskPrefix.Length);
        var separator = rest.IndexOf('_');
        if (separator <= 0 || !long.TryParse(rest[..separator], NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds))
            return false;
        try
        {
            itemId = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(rest[(separator + 1)..]));
            submittedAt = DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private readonly record struct ItemProfile(TimeSpan Latency, bool Fails, bool Flagged, string Category, double Confidence, LlmTokenUsage Usage);

    private sealed class SimulatedBatch(string batchId, string[] itemIds, DateTimeOffset submittedAt, string reference)
    {
        private long _cancelledAtTicks = -1;

        public string BatchId { get; } = batchId;

        public string Reference { get; } = reference;

        public string[] ItemIds { get; } = itemIds;

        public DateTimeOffset SubmittedAt { get; } = submittedAt;

        public DateTimeOffset? CancelledAt =>
            Interlocked.Read(ref _cancelledAtTicks) is var ticks and >= 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

        public DateTimeOffset ExpiresAt(SimulatedProviderOptions options) => SubmittedAt + options.BatchCompletionWindow;

        public void Cancel(DateTimeOffset at) => Interlocked.CompareExchange(ref _cancelledAtTicks, at.UtcTicks, -1);
    }
}
