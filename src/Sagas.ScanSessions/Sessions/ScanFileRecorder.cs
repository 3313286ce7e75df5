using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.ScanSessions;
using Sagas.Persistence;
using Sagas.Persistence.Outbox;
using Sagas.Persistence.ScanSessions;
using Sagas.ScanSessions.Matching;

namespace Sagas.ScanSessions.Sessions;

/// <summary>One file's outcome as the recorder stores it.</summary>
public sealed record ScanFileOutcome(string Status, IReadOnlyList<string> MatchedCodes, string? Link, string? Error)
{
    public static ScanFileOutcome Failed(string error, string? link = null) => new(ScanStatus.Error, [], link, error);
}

/// <summary>
/// The only code that counts files, like the seed's DynamoDB atomic counter but with the result row in the same
/// transaction. One transaction per file: the first statement bumps the session's revision (the row lock on
/// PostgreSQL, the write lock on SQLite) and only succeeds while the session is scanning, so a cancelled or finished
/// session counts nothing; a result row already there means a redelivery, which counts nothing either; otherwise the
/// row is inserted and the counters move by exactly one file. Events go to the transactional outbox of the same
/// transaction: one <see cref="ScanMatchFound"/> per code, <see cref="ScanProgressed"/> when the integer percent grew
/// (and <see cref="ScanSessionsOptions.ProgressInterval"/> passed), <see cref="ScanFilesCompleted"/> exactly once, when
/// the last file is counted.
/// </summary>
public sealed class ScanFileRecorder(SagasDbContext db, Outbox outbox, ScanSessionsOptions options, TimeProvider clock)
{
    private const int MaxError = 2000;

    /// <returns>True when this call counted the file; false for a redelivery or a session no longer scanning.</returns>
    public async Task<bool> RecordAsync(ScanFile file, ScanFileOutcome outcome, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var locked = await db.Set<ScanSession>()
            .Where(s => s.Id == file.SessionId && s.Status == ScanSessionStatus.Scanning)
            .ExecuteUpdateAsync(set => set.SetProperty(s => s.Revision, s => s.Revision + 1), cancellationToken);
        if (locked == 0)
            return false;

        if (await db.Set<ScanFileResult>().AnyAsync(r => r.SessionId == file.SessionId && r.FileIndex == file.FileIndex, cancellationToken))
            return false;

        var session = await db.Set<ScanSession>().SingleAsync(s => s.Id == file.SessionId, cancellationToken);
        var codes = outcome.MatchedCodes.Distinct(StringComparer.Ordinal).ToList();
        db.Add(new ScanFileResult
        {
            SessionId = file.SessionId,
            FileIndex = file.FileIndex,
            Name = file.Name,
            Kind = file.Kind,
            Locator = file.Locator,
            Link = outcome.Link,
            Status = outcome.Status,
            MatchedCodesJson = ScanSessionJson.Write(codes),
            MatchCount = codes.Count,
            Error = outcome.Error is { Length: > MaxError } tooLong ? tooLong[..MaxError] : outcome.Error,
            ProcessedAt = now,
        });

        session.ProcessedFiles++;
        session.TotalMatches += codes.Count;
        if (codes.Count > 0)
            session.MatchedFiles++;
        if (outcome.Status == ScanStatus.Error)
            session.ErrorFiles++;

        foreach (var code in codes)
            outbox.Add(new ScanMatchFound(session.Id, code, file.Name, outcome.Status, outcome.Link));

        var total = session.TotalFiles ?? int.MaxValue;
        var finished = session.ProcessedFiles >= total;
        var percent = (int)(session.ProcessedFiles * 100L / Math.Max(1, total));
        var quietLongEnough = session.LastProgressAt is not { } last || now - last >= options.ProgressInterval;
        if (finished || (percent > session.LastProgressPercent && quietLongEnough))
        {
            session.LastProgressPercent = percent;
            session.LastProgressAt = now;
            outbox.Add(new ScanProgressed(session.Id, session.ProcessedFiles, total, percent));
        }

        if (finished)
        {
            session.Status = ScanSessionStatus.Reporting;
            outbox.Add(new ScanFilesCompleted(session.Id, session.ProcessedFiles, session.TotalMatches));
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outbox.Flush();
        return true;
    }
}
