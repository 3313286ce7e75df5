using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.ScanSessions;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.ScanSessions.Fetching;
using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Ocr;
using Sagas.ScanSessions.Realtime;
using Sagas.ScanSessions.Sources;

namespace Sagas.ScanSessions.Data;

/// <summary>One file's outcome as the recorder stores it.</summary>
public sealed record ScanFileOutcome(string Status, IReadOnlyList<string> MatchedCodes, string? Link, string? Error)
{
    /// <summary>Codes of <see cref="MatchedCodes"/> found only by OCR, with their confidence.</summary>
    public IReadOnlyList<OcrCodeMatch> OcrMatches { get; init; } = [];

    public int OcrPages { get; init; }

    public TimeSpan OcrTime { get; init; }

    public static ScanFileOutcome Failed(string error, string? link = null) => new(ScanStatus.Error, [], link, error);
}

/// <summary>A scanned file waiting to be counted.</summary>
public sealed record ScannedFile(ScanFile File, ScanFileOutcome Outcome);

/// <summary>
/// The only code that counts files, and it counts them in the same transaction as their result rows. One transaction
/// per batch of files of one session:
/// <list type="number">
/// <item>the result rows go in with one <c>INSERT … ON CONFLICT DO NOTHING RETURNING file_index</c> (in file order, so
/// two workers inserting overlapping batches wait on each other instead of deadlocking), written from the model by
/// <see cref="InsertIgnoringDuplicates"/> so every value is stored as EF Core stores it: a row already there (a
/// redelivery, a copy in another batch) is not returned and counts nothing;</item>
/// <item>then one atomic update moves the session's counters by exactly the rows returned, and only while the session is
/// scanning: a cancelled or finished session rolls the whole batch back and counts nothing. This update takes the
/// session row lock (the write lock on SQLite) as late as possible, so workers serialise on a few statements per
/// batch instead of five round trips per file;</item>
/// <item>events go to the transactional outbox of the same transaction: one <see cref="ScanMatchFound"/> per code of a
/// counted file, <see cref="ScanProgressed"/> when the integer percent grew (and
/// <see cref="ScanSessionsOptions.ProgressInterval"/> passed), <see cref="ScanFilesCompleted"/> exactly once, by the
/// transaction that counts the last file.</item>
/// </list>
/// </summary>
public sealed class ScanFileRecorder(SagasDbContext db, OutboxWriter outbox, ScanSessionsOptions options, TimeProvider clock)
{
    private const int MaxError = 2000;

    /// <summary>Rows per INSERT statement: far below the parameter limits of PostgreSQL (65,535) and SQLite (32,766).</summary>
    private const int RowsPerStatement = 500;

    /// <returns>True when this call counted the file; false for a redelivery or a session no longer scanning.</returns>
    public async Task<bool> RecordAsync(ScanFile file, ScanFileOutcome outcome, CancellationToken cancellationToken) =>
        await RecordBatchAsync([new ScannedFile(file, outcome)], cancellationToken) == 1;

    /// <summary>Counts a batch of files (of any sessions; one transaction per session); a file listed twice counts once.</summary>
    /// <returns>How many files this call counted.</returns>
    public async Task<int> RecordBatchAsync(IReadOnlyList<ScannedFile> files, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(files);
        var counted = 0;
        foreach (var session in files.GroupBy(f => f.File.SessionId))
            counted += await RecordSessionAsync(session.Key, session.DistinctBy(f => f.File.FileIndex).OrderBy(f => f.File.FileIndex).ToList(), cancellationToken);
        return counted;
    }

    private async Task<int> RecordSessionAsync(Guid sessionId, List<ScannedFile> files, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var rows = files.Select(f => Row(f, now)).ToList();

        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync(async () =>
        {
            db.ChangeTracker.Clear();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var inserted = new HashSet<int>();
            foreach (var chunk in rows.Chunk(RowsPerStatement))
                inserted.UnionWith(await db.InsertIgnoringDuplicatesAsync(chunk, row => row.FileIndex, cancellationToken));
            if (inserted.Count == 0)
                return 0;

            var counted = rows.Where(r => inserted.Contains(r.FileIndex)).ToList();
            var matched = counted.Count(r => r.MatchCount > 0);
            var matches = counted.Sum(r => r.MatchCount);
            var errors = counted.Count(r => r.Status == ScanStatus.Error);
            var ocrPages = counted.Sum(r => r.OcrPages);
            var ocrMilliseconds = files.Where(f => inserted.Contains(f.File.FileIndex)).Sum(f => (long)f.Outcome.OcrTime.TotalMilliseconds);
            var locked = await db.Set<ScanSession>()
                .Where(s => s.Id == sessionId && s.Status == ScanSessionStatus.Scanning)
                .ExecuteUpdateAsync(set => set
                    .SetProperty(s => s.Revision, s => s.Revision + 1)
                    .SetProperty(s => s.ProcessedFiles, s => s.ProcessedFiles + counted.Count)
                    .SetProperty(s => s.MatchedFiles, s => s.MatchedFiles + matched)
                    .SetProperty(s => s.TotalMatches, s => s.TotalMatches + matches)
                    .SetProperty(s => s.ErrorFiles, s => s.ErrorFiles + errors)
                    .SetProperty(s => s.OcrPages, s => s.OcrPages + ocrPages)
                    .SetProperty(s => s.OcrMilliseconds, s => s.OcrMilliseconds + ocrMilliseconds), cancellationToken);
            if (locked == 0)
            {
                // Cancelled or already finished: the inserted rows go with the rollback, nothing is counted.
                await transaction.RollbackAsync(cancellationToken);
                return 0;
            }

            // The row is locked by this transaction: what it reads now is the count including this batch.
            var session = await db.Set<ScanSession>().SingleAsync(s => s.Id == sessionId, cancellationToken);
            foreach (var row in counted)
            {
                var ocr = OcrMatchJson.Read(row.OcrMatchesJson).ToDictionary(m => m.Code, m => m.Confidence, StringComparer.Ordinal);
                foreach (var code in ScanSessionJson.Read(row.MatchedCodesJson))
                    outbox.Add(new ScanMatchFound(sessionId, code, row.Name, row.Status, row.Link, ocr.TryGetValue(code, out var confidence) ? confidence : null));
            }

            var total = session.TotalFiles ?? int.MaxValue;
            var finished = session.ProcessedFiles >= total;
            var percent = (int)(session.ProcessedFiles * 100L / Math.Max(1, total));
            var quietLongEnough = session.LastProgressAt is not { } last || now - last >= options.ProgressInterval;
            if (finished || (percent > session.LastProgressPercent && quietLongEnough))
            {
                session.LastProgressPercent = percent;
                session.LastProgressAt = now;
                outbox.Add(new ScanProgressed(sessionId, session.ProcessedFiles, total, percent, session.OcrPages, ScanSessionRealtime.Seconds(session.OcrMilliseconds)));
            }

            if (finished)
            {
                session.Status = ScanSessionStatus.Reporting;
                outbox.Add(new ScanFilesCompleted(sessionId, session.ProcessedFiles, session.TotalMatches));
            }

            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            db.ChangeTracker.Clear();
            outbox.Flush();
            return counted.Count;
        });
    }

    private static ScanFileResult Row(ScannedFile scanned, DateTimeOffset now)
    {
        var codes = scanned.Outcome.MatchedCodes.Distinct(StringComparer.Ordinal).ToList();
        return new ScanFileResult
        {
            SessionId = scanned.File.SessionId,
            FileIndex = scanned.File.FileIndex,
            Name = scanned.File.Name,
            Kind = scanned.File.Kind,
            // The row is kept: a signed URL's query (its signature) stays out of it, as out of the link.
            Locator = scanned.File.Kind == ScanFileKinds.Url && Uri.TryCreate(scanned.File.Locator, UriKind.Absolute, out var address)
                ? UrlFileFetcher.WithoutQuery(address)
                : scanned.File.Locator,
            Link = scanned.Outcome.Link,
            Status = scanned.Outcome.Status,
            MatchedCodesJson = ScanSessionJson.Write(codes),
            MatchCount = codes.Count,
            Error = scanned.Outcome.Error is { Length: > MaxError } tooLong ? tooLong[..MaxError] : scanned.Outcome.Error,
            OcrMatchesJson = scanned.Outcome.OcrMatches.Count == 0 ? null : OcrMatchJson.Write(scanned.Outcome.OcrMatches),
            OcrPages = scanned.Outcome.OcrPages,
            ProcessedAt = now,
        };
    }
}
