using Polly;
using Polly.Retry;
using Sagas.Storage.Blobs;

namespace Sagas.ScanSessions.Fetching;

/// <summary>
/// Reads of the blob store (uploads, archive entries) retried as the scan URL client retries a fetch: the same number
/// of attempts (<see cref="ScanFetchingOptions.UrlMaxRetries"/>) and exponential, jittered back-off from
/// <see cref="ScanFetchingOptions.UrlRetryBaseDelay"/>, on what <see cref="BlobErrors.IsTransient"/> calls transient. What
/// is still failing after that is the file's transient failure, which the file worker retries later on its own.
/// </summary>
public sealed class BlobReadRetry
{
    private readonly ResiliencePipeline _pipeline;

    public BlobReadRetry(ScanFetchingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _pipeline = options.UrlMaxRetries == 0
            ? ResiliencePipeline.Empty
            : new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.UrlMaxRetries,
                Delay = options.UrlRetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                MaxDelay = TimeSpan.FromSeconds(10),
                ShouldHandle = new PredicateBuilder().Handle<Exception>(BlobErrors.IsTransient),
            }).Build();
    }

    public ValueTask<T> ExecuteAsync<T>(Func<CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken) =>
        _pipeline.ExecuteAsync(read, cancellationToken);

    /// <summary>A range of a blob, read whole into memory (archive directories and entries, bounded by their callers).</summary>
    public ValueTask<byte[]> ReadRangeAsync(IBlobStore blobs, string key, long offset, long length, CancellationToken cancellationToken) =>
        ExecuteAsync(
            async token =>
            {
                await using var blob = await blobs.OpenReadRangeAsync(key, offset, length, token);
                using var buffer = new MemoryStream((int)Math.Min(length, blob.Length ?? length));
                await blob.Content.CopyToAsync(buffer, token);
                return buffer.ToArray();
            },
            cancellationToken);
}
