// OpenAI 2.15.0 marks the Responses, Files and Batch clients experimental (OPENAI001). Only the files in this folder
// use them, behind ILlmJobProvider, so an SDK change stays contained here.
#pragma warning disable OPENAI001

using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Batch;
using OpenAI.Files;
using OpenAI.Responses;
using Polly;
using Sagas.Core.Http;

namespace Sagas.LlmJobs.Providers.OpenAi;

/// <summary>
/// OpenAI through the official SDK: background responses (one per item) and the Batch API (one batch per chunk,
/// lines sent to <c>/v1/responses</c>). The SDK's own retries are off; <see cref="LlmRetryPipeline"/> owns them.
/// </summary>
public sealed class OpenAiLlmJobProvider : ILlmJobProvider
{
    private readonly OpenAiProviderOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ResponsesClient _responses;
    private readonly OpenAIFileClient _files;
    private readonly BatchClient _batches;
    /// <summary>Batches searched at most (newest first) for one reference: 10 pages of 100.</summary>
    private const int MaxBatchesSearched = 1000;

    private readonly ResiliencePipeline _retry;
    private readonly ResiliencePipeline _createRetry;
    private RateLimitSnapshot _latestRateLimit;

    /// <param name="httpClient">
    /// Optional client (e.g. from IHttpClientFactory, for pooled connections and HTTP telemetry); the SDK's shared
    /// client otherwise. Its own timeout should not be shorter than <see cref="OpenAiProviderOptions.RequestTimeout"/>.
    /// </param>
    public OpenAiLlmJobProvider(OpenAiProviderOptions options, TimeProvider timeProvider, ILogger<OpenAiLlmJobProvider> logger, HttpClient? httpClient = null)
    {
        _options = options;
        _timeProvider = timeProvider;
        _latestRateLimit = RateLimitSnapshot.None(timeProvider.GetUtcNow());
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = options.ApiEndpoint,
            RetryPolicy = new ClientRetryPolicy(0),
            NetworkTimeout = options.RequestTimeout,
            OrganizationId = string.IsNullOrWhiteSpace(options.OrganizationId) ? null : options.OrganizationId,
            ProjectId = string.IsNullOrWhiteSpace(options.ProjectId) ? null : options.ProjectId,
            UserAgentApplicationId = "sagas",
        };
        if (httpClient is not null)
            clientOptions.Transport = new HttpClientPipelineTransport(httpClient);
        var client = new OpenAIClient(new ApiKeyCredential(options.ApiKey ?? string.Empty), clientOptions);
        _responses = client.GetResponsesClient();
        _files = client.GetOpenAIFileClient();
        _batches = client.GetBatchClient();
        _retry = LlmRetryPipeline.Create(options.Retry, timeProvider, logger);
        _createRetry = LlmRetryPipeline.Create(options.Retry, timeProvider, logger, repeatsWhenOutcomeUnknown: false);
        Limits = new LlmProviderLimits(options.MaxItemsPerBatch, options.MaxBatchFileBytes, options.MaxInputCharacters, MaxItemIdLength: 64);
    }

    public string Name => OpenAiProviderOptions.ProviderName;

    public bool IsSimulated => false;

    public string DefaultModel => _options.DefaultModel;

    public LlmProviderLimits Limits { get; }

    public RateLimitSnapshot LatestRateLimit => Volatile.Read(ref _latestRateLimit);

    public async Task<LlmItemSubmission> SubmitItemAsync(LlmItemRequest request, CancellationToken cancellationToken)
    {
        var createOptions = OpenAiResponseMapper.BuildCreateOptions(request, _options.DefaultModel, _options.MaxOutputTokens, background: true);
        var (response, rateLimit) = await CallAsync("submit-item", token => _responses.CreateResponseAsync(createOptions, token), cancellationToken, _createRetry);
        var (status, _, _) = OpenAiResponseMapper.Interpret(response);
        return new LlmItemSubmission(response.Id, status, rateLimit);
    }

    public async Task<LlmItemOutcome> GetItemAsync(string providerTaskId, CancellationToken cancellationToken)
    {
        var (response, rateLimit) = await CallAsync("get-item", token => _responses.GetResponseAsync(providerTaskId, token), cancellationToken);
        return OpenAiResponseMapper.ToOutcome(response, rateLimit);
    }

    public async Task<LlmItemOutcome> CancelItemAsync(string providerTaskId, CancellationToken cancellationToken)
    {
        try
        {
            var (response, rateLimit) = await CallAsync("cancel-item", token => _responses.CancelResponseAsync(providerTaskId, token), cancellationToken);
            return OpenAiResponseMapper.ToOutcome(response, rateLimit);
        }
        catch (LlmProviderException ex) when (ex.Error.StatusCode is 400 or 409)
        {
            // OpenAI refuses to cancel a response that already finished; its final state is what the caller needs.
            return await GetItemAsync(providerTaskId, cancellationToken);
        }
    }

    public IReadOnlyList<IReadOnlyList<LlmItemRequest>> PlanBatches(IReadOnlyList<LlmItemRequest> items)
    {
        var chunks = new List<IReadOnlyList<LlmItemRequest>>();
        var current = new List<LlmItemRequest>();
        long currentBytes = 0;
        foreach (var item in items)
        {
            var lineBytes = OpenAiBatchFormat.InputLine(item, _options.DefaultModel, _options.MaxOutputTokens).LongLength;
            if (lineBytes > _options.MaxBatchFileBytes)
                throw new ArgumentException($"Item '{item.ItemId}' alone needs {lineBytes} bytes, more than a batch file may hold ({_options.MaxBatchFileBytes}).", nameof(items));

            if (current.Count == _options.MaxItemsPerBatch || currentBytes + lineBytes > _options.MaxBatchFileBytes)
            {
                chunks.Add(current);
                current = [];
                currentBytes = 0;
            }

            current.Add(item);
            currentBytes += lineBytes;
        }

        if (current.Count > 0)
            chunks.Add(current);
        return chunks;
    }

    public async Task<LlmBatchSubmission> SubmitBatchAsync(LlmBatchRequest request, CancellationToken cancellationToken)
    {
        var file = BuildInputFile(request.Items);
        var fileName = $"sagas-{Guid.NewGuid():N}.jsonl";
        var (uploaded, _) = await CallAsync(
            "upload-batch-file",
            token => _files.UploadFileAsync(file.ToStream(), fileName, FileUploadPurpose.Batch, token),
            cancellationToken);

        var body = OpenAiBatchFormat.CreateBatchBody(uploaded.Id, _options.BatchCompletionWindow, request.Reference);
        // A minute of slack for the difference between our clock and OpenAI's created_at.
        var createdAfter = _timeProvider.GetUtcNow() - TimeSpan.FromMinutes(1);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var status = await CallRawAsync(
                    "create-batch",
                    async token => (await _batches.CreateBatchAsync(BinaryContent.Create(body), waitUntilCompleted: false, new RequestOptions { CancellationToken = token })).GetRawResponse(),
                    cancellationToken,
                    _createRetry);
                return new LlmBatchSubmission(status.BatchId, uploaded.Id, request.Items.Count, status);
            }
            catch (LlmProviderException exception) when (exception.OutcomeUnknown)
            {
                // OpenAI has no idempotency key, but it keeps our reference in the batch's metadata and lists batches:
                // a batch the lost answer would have named is found there rather than paid for twice.
                if (await FindBatchAsync(request.Reference, createdAfter, cancellationToken) is { } created)
                    return created;
                if (attempt >= _options.Retry.MaxRetryAttempts)
                    throw;
            }
        }
    }

    public Task<LlmBatchSubmission?> FindBatchAsync(string reference, DateTimeOffset createdAfter, CancellationToken cancellationToken) =>
        _retry.ExecuteAsync(
            async token =>
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var found = await SearchBatchesAsync(OpenAiBatchFormat.MetadataReference(reference), createdAfter, token);
                    LlmProviderMetrics.Record(Name, "find-batch", "ok", started);
                    return found;
                }
                catch (Exception ex) when (Translate("find-batch", ex, token) is { } translated)
                {
                    LlmProviderMetrics.Record(Name, "find-batch", LlmProviderMetrics.OutcomeOf(translated), started);
                    throw translated;
                }
            },
            cancellationToken).AsTask();

    /// <summary>Reads <c>GET /v1/batches</c> pages, newest first, until the batch or one older than <paramref name="createdAfter"/>.</summary>
    private async Task<LlmBatchSubmission?> SearchBatchesAsync(string reference, DateTimeOffset createdAfter, CancellationToken cancellationToken)
    {
        var searched = 0;
        var pages = _batches.GetBatchesAsync(after: null, limit: 100, new RequestOptions { CancellationToken = cancellationToken });
        await foreach (var page in pages.GetRawPagesAsync().WithCancellation(cancellationToken))
        {
            var response = page.GetRawResponse();
            var rateLimit = Observe(response);
            using var document = JsonDocument.Parse(response.Content);
            if (!document.RootElement.TryGetProperty("data", out var batches) || batches.ValueKind != JsonValueKind.Array)
                return null;
            foreach (var batch in batches.EnumerateArray())
            {
                if (OpenAiBatchFormat.CreatedAt(batch) is { } created && created < createdAfter)
                    return null;
                if (OpenAiBatchFormat.ReferenceOf(batch) == reference)
                {
                    var status = OpenAiBatchFormat.ReadBatch(BinaryData.FromString(batch.GetRawText()), rateLimit);
                    return new LlmBatchSubmission(status.BatchId, OpenAiResponseMapper.StringOrNull(batch, "input_file_id") ?? "", status.RequestCounts.Total, status);
                }

                if (++searched >= MaxBatchesSearched)
                    return null;
            }
        }

        return null;
    }

    public Task<LlmBatchStatus> GetBatchAsync(string batchId, CancellationToken cancellationToken) =>
        CallRawAsync(
            "get-batch",
            async token => (await _batches.GetBatchAsync(batchId, new RequestOptions { CancellationToken = token })).GetRawResponse(),
            cancellationToken);

    public async Task<LlmBatchResults> ReadBatchResultsAsync(LlmBatchStatus batch, CancellationToken cancellationToken)
    {
        var results = new Dictionary<string, LlmBatchItemResult>(StringComparer.Ordinal);
        var unattributed = new List<UnattributedBatchLine>();

        // Output first, then errors: for an expired or cancelled batch the finished lines are in the output file
        // and the unfinished ones in the error file; a success is never overwritten by a failure.
        foreach (var fileId in new[] { batch.OutputFileId, batch.ErrorFileId })
        {
            if (string.IsNullOrEmpty(fileId))
                continue;
            var (fileResults, fileUnattributed) = await ReadBatchFileAsync(fileId, cancellationToken);
            foreach (var result in fileResults.Values)
                OpenAiBatchFormat.Merge(results, result);
            unattributed.AddRange(fileUnattributed);
        }

        return new LlmBatchResults(batch.BatchId, results.Values.ToList(), unattributed);
    }

    /// <summary>
    /// One output or error file, read line by line as it arrives (the response is not buffered): a batch of 50,000
    /// answers is hundreds of megabytes, and only the parsed results are kept. A connection lost half way starts the
    /// file again, with nothing of the lost attempt kept.
    /// </summary>
    private async Task<(Dictionary<string, LlmBatchItemResult> Results, List<UnattributedBatchLine> Unattributed)> ReadBatchFileAsync(string fileId, CancellationToken cancellationToken)
    {
        const string operation = "download-batch-file";
        return await _retry.ExecuteAsync(
            async token =>
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var results = new Dictionary<string, LlmBatchItemResult>(StringComparer.Ordinal);
                    var unattributed = new List<UnattributedBatchLine>();
                    var result = await _files.DownloadFileAsync(fileId, new RequestOptions { CancellationToken = token, BufferResponse = false });
                    using var response = result.GetRawResponse();
                    Observe(response);
                    await using (var content = response.ContentStream ?? Stream.Null)
                        await OpenAiBatchFormat.ReadResultFileAsync(fileId, content, results, unattributed, token);
                    LlmProviderMetrics.Record(Name, operation, "ok", started);
                    return (results, unattributed);
                }
                catch (Exception ex) when (Translate(operation, ex, token) is { } translated)
                {
                    LlmProviderMetrics.Record(Name, operation, LlmProviderMetrics.OutcomeOf(translated), started);
                    throw translated;
                }
            },
            cancellationToken);
    }

    public async Task<LlmBatchStatus> CancelBatchAsync(string batchId, CancellationToken cancellationToken)
    {
        try
        {
            return await CallRawAsync(
                "cancel-batch",
                async token =>
                {
                    var operation = await CreateBatchOperation.RehydrateAsync(_batches, batchId, token);
                    return (await operation.CancelAsync(new RequestOptions { CancellationToken = token })).GetRawResponse();
                },
                cancellationToken);
        }
        catch (LlmProviderException ex) when (ex.Error.StatusCode is 400 or 409)
        {
            // A batch that already ended cannot be cancelled; report where it ended.
            return await GetBatchAsync(batchId, cancellationToken);
        }
    }

    private BinaryData BuildInputFile(IReadOnlyList<LlmItemRequest> items)
    {
        if (items.Count == 0)
            throw new ArgumentException("A batch needs at least one item.", nameof(items));
        if (items.Count > _options.MaxItemsPerBatch)
            throw new ArgumentException($"A batch holds at most {_options.MaxItemsPerBatch} items; got {items.Count}. Split with PlanBatches.", nameof(items));

        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var buffer = new MemoryStream();
        foreach (var item in items)
        {
            if (string.IsNullOrEmpty(item.ItemId) || item.ItemId.Length > Limits.MaxItemIdLength)
                throw new ArgumentException($"Item id '{item.ItemId}' must have 1 to {Limits.MaxItemIdLength} characters (it becomes the batch custom_id).", nameof(items));
            if (!seen.Add(item.ItemId))
                throw new ArgumentException($"Item id '{item.ItemId}' appears twice; batch results are matched by it.", nameof(items));
            buffer.Write(OpenAiBatchFormat.InputLine(item, _options.DefaultModel, _options.MaxOutputTokens));
            if (buffer.Length > _options.MaxBatchFileBytes)
                throw new ArgumentException($"The batch file exceeds {_options.MaxBatchFileBytes} bytes. Split with PlanBatches.", nameof(items));
        }

        return BinaryData.FromBytes(buffer.ToArray());
    }

    /// <summary>A typed SDK call with retries (<paramref name="retry"/>, else the usual ones), rate-limit capture and error translation.</summary>
    private async Task<(T Value, RateLimitSnapshot RateLimit)> CallAsync<T>(
        string operation, Func<CancellationToken, Task<ClientResult<T>>> call, CancellationToken cancellationToken, ResiliencePipeline? retry = null)
    {
        return await (retry ?? _retry).ExecuteAsync(
            async token =>
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var result = await call(token);
                    var rateLimit = Observe(result.GetRawResponse());
                    LlmProviderMetrics.Record(Name, operation, "ok", started);
                    return (result.Value, rateLimit);
                }
                catch (Exception ex) when (Translate(operation, ex, token) is { } translated)
                {
                    LlmProviderMetrics.Record(Name, operation, LlmProviderMetrics.OutcomeOf(translated), started);
                    throw translated;
                }
            },
            cancellationToken);
    }

    /// <summary>A protocol-level call whose answer is a batch object.</summary>
    private async Task<LlmBatchStatus> CallRawAsync(
        string operation, Func<CancellationToken, Task<PipelineResponse>> call, CancellationToken cancellationToken, ResiliencePipeline? retry = null)
    {
        return await (retry ?? _retry).ExecuteAsync(
            async token =>
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var response = await call(token);
                    var rateLimit = Observe(response);
                    var status = OpenAiBatchFormat.ReadBatch(response.Content, rateLimit);
                    LlmProviderMetrics.Record(Name, operation, "ok", started);
                    return status;
                }
                catch (Exception ex) when (Translate(operation, ex, token) is { } translated)
                {
                    LlmProviderMetrics.Record(Name, operation, LlmProviderMetrics.OutcomeOf(translated), started);
                    throw translated;
                }
            },
            cancellationToken);
    }

    private RateLimitSnapshot Observe(PipelineResponse? response)
    {
        if (response is null)
            return RateLimitSnapshot.None(_timeProvider.GetUtcNow());

        var snapshot = RateLimitHeaders.ParseOpenAi(name => response.Headers.TryGetValue(name, out var value) ? value : null, _timeProvider.GetUtcNow());
        if (!snapshot.IsEmpty)
            Volatile.Write(ref _latestRateLimit, snapshot);
        return snapshot;
    }

    /// <summary>
    /// Maps what the SDK throws to <see cref="LlmProviderException"/>; null (rethrow as is) for the caller's own
    /// cancellation and for exceptions that are bugs rather than provider trouble.
    /// </summary>
    private LlmProviderException? Translate(string operation, Exception exception, CancellationToken token)
    {
        switch (exception)
        {
            case LlmProviderException:
                return null;
            case OperationCanceledException when token.IsCancellationRequested:
                return null;
            case ClientResultException clientException when clientException.GetRawResponse() is { } response:
            {
                var rateLimit = Observe(response);
                var (code, message) = OpenAiResponseMapper.ReadErrorBody(TryGetContent(response));
                var kind = LlmErrorClassifier.ForHttpStatus(response.Status, code);
                var error = new LlmProviderError(
                    kind,
                    code ?? (response.Status == 404 ? LlmErrorCodes.NotFound : LlmErrorCodes.HttpError),
                    message ?? $"HTTP {response.Status} {response.ReasonPhrase}",
                    response.Status,
                    rateLimit.RetryAfter);
                return new LlmProviderException(Name, operation, error, rateLimit, exception);
            }

            case ClientResultException or HttpRequestException:
                return Transient(LlmErrorCodes.ConnectionFailed, exception.Message);
            case OperationCanceledException or TimeoutException:
                return Transient(LlmErrorCodes.Timeout, $"No answer within {_options.RequestTimeout}.");
            case JsonException or FormatException or ArgumentOutOfRangeException or KeyNotFoundException:
                // A success status with a body we cannot read: a proxy's error page, a truncated body, a new enum value.
                return Transient(LlmErrorCodes.UnreadableResponse, exception.Message);
            default:
                return null;
        }

        LlmProviderException Transient(string code, string message) =>
            new(Name, operation, new LlmProviderError(LlmErrorKind.Transient, code, message), RateLimitSnapshot.None(_timeProvider.GetUtcNow()), exception);
    }

    private static BinaryData? TryGetContent(PipelineResponse response)
    {
        try
        {
            return response.Content;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
