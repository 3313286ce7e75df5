using Sagas.Storage.Content;

namespace Sagas.ScanSessions.Fetching;

/// <summary>
/// Fetches one scanned file, whatever its source, into memory under the size and time limits. Expected problems
/// (missing file, no access, too large, timeout, unsupported kind) come back as a <see cref="FetchFailure"/> the
/// caller records against the file; <see cref="FetchFailure.Retryable"/> says whether a redelivery may help.
/// Only cancellation of the caller's token escapes as an exception.
/// </summary>
public interface IScanFileFetcher
{
    Task<FetchResult<FetchedFile>> FetchAsync(ScanFileReference reference, CancellationToken cancellationToken = default);
}
