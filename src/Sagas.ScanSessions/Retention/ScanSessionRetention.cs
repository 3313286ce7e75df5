using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Persistence;
using Sagas.Persistence.Retention;
using Sagas.ScanSessions.Api;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.StateMachines;
using Sagas.Storage.Blobs;

namespace Sagas.ScanSessions.Retention;

/// <summary>
/// What a scan session leaves behind and when it goes. Only finished sessions (completed, failed, cancelled), aged
/// from <see cref="ScanSession.CompletedAt"/>, are ever touched: a session in dispatching, scanning or reporting keeps
/// everything whatever its age.
/// </summary>
public static class ScanSessionRetention
{
    public const string Uploads = "scan-uploads";
    public const string Reports = "scan-reports";
    public const string FileResults = "scan-file-results";
    public const string Sagas = "scan-session-sagas";
    public const string Sessions = "scan-sessions";

    /// <summary>
    /// The defaults: sources are only read while scanning; reports and per-file rows are what users look at for a
    /// while; the session row (counts, status, error) is the history and stays a year.
    /// </summary>
    public static IServiceCollection AddScanSessionRetention(this IServiceCollection services)
    {
        services.AddRetentionRule<ScanUploadsRetention>(Uploads, 7, "source blobs (uploads, manifest, file content) of finished scan sessions");
        services.AddRetentionRule<ScanReportsRetention>(Reports, 30, "report workbooks of completed scan sessions; the API then answers 410 for the report");
        services.AddRetentionRule<ScanFileResultsRetention>(FileResults, 30, "scan_file_results rows of finished scan sessions (the session row keeps the counts)");
        services.AddRetentionRule<ScanSessionSagasRetention>(Sagas, 30, "scan_session_sagas rows in Completed, Failed or Cancelled");
        services.AddRetentionRule<ScanSessionsRetention>(Sessions, 365, "scan_sessions rows of finished sessions, with whatever the rules above left of them");
        return services;
    }

    internal static IQueryable<ScanSession> Due(SagasDbContext db, DateTimeOffset cutoff) =>
        db.Set<ScanSession>().Where(s => ScanSessionStatus.Finished.Contains(s.Status) && s.CompletedAt != null && s.CompletedAt < cutoff);

    /// <summary>Result rows of sessions due at <paramref name="cutoff"/>, at most a batch, by key; a few sessions at a time.</summary>
    internal static async Task<int> DeleteResultsAsync(SagasDbContext db, RetentionBatch batch, CancellationToken cancellationToken)
    {
        // Sessions first (an index walk over finished sessions, a key probe each), then their rows by primary key:
        // the statement never scans the results of live sessions.
        var sessions = await Due(db, batch.Cutoff)
            .Where(s => db.Set<ScanFileResult>().Any(r => r.SessionId == s.Id))
            .OrderBy(s => s.CompletedAt)
            .Select(s => s.Id)
            .Take(100)
            .ToListAsync(cancellationToken);
        if (sessions.Count == 0)
            return 0;

        return await db.Set<ScanFileResult>()
            .Where(r => sessions.Contains(r.SessionId))
            .OrderBy(r => r.SessionId).ThenBy(r => r.FileIndex)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>Deletes every source blob of a session (they all live under its folder); returns how many there were.</summary>
    internal static async Task<int> DeleteSourceBlobsAsync(IBlobStore blobs, Guid sessionId, CancellationToken cancellationToken)
    {
        var deleted = 0;
        var keys = new List<string>();
        await foreach (var blob in blobs.ListAsync($"{ScanSessionStarter.UploadPrefix}/{sessionId:N}/", cancellationToken))
            keys.Add(blob.Key);
        foreach (var key in keys)
        {
            await blobs.DeleteAsync(key, cancellationToken);
            deleted++;
        }

        return deleted;
    }
}

/// <summary>Rule <c>scan-uploads</c>: a finished session's source blobs; the row remembers when (<see cref="ScanSession.SourceDeletedAt"/>).</summary>
public sealed class ScanUploadsRetention(SagasDbContext db, IBlobStore blobs, TimeProvider clock) : IRetentionRule
{
    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken)
    {
        var sessions = await ScanSessionRetention.Due(db, batch.Cutoff)
            .Where(s => s.SourceDeletedAt == null)
            .OrderBy(s => s.CompletedAt)
            .Select(s => s.Id)
            .Take(batch.Size)
            .ToListAsync(cancellationToken);

        var deleted = 0;
        foreach (var id in sessions)
        {
            deleted += await ScanSessionRetention.DeleteSourceBlobsAsync(blobs, id, cancellationToken);
            // Marked only once its blobs are gone: a crash in between deletes the rest next time.
            await db.Set<ScanSession>().Where(s => s.Id == id)
                .ExecuteUpdateAsync(set => set.SetProperty(s => s.SourceDeletedAt, clock.GetUtcNow()), cancellationToken);
        }

        return new RetentionBatchResult(sessions.Count, deleted);
    }
}

/// <summary>Rule <c>scan-reports</c>: the report workbook of a completed session; its key is cleared after the blob is gone.</summary>
public sealed class ScanReportsRetention(SagasDbContext db, IBlobStore blobs) : IRetentionRule
{
    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken)
    {
        var reports = await ScanSessionRetention.Due(db, batch.Cutoff)
            .Where(s => s.ReportBlobKey != null)
            .OrderBy(s => s.CompletedAt)
            .Select(s => new { s.Id, Key = s.ReportBlobKey! })
            .Take(batch.Size)
            .ToListAsync(cancellationToken);

        foreach (var report in reports)
        {
            await blobs.DeleteAsync(report.Key, cancellationToken);
            await db.Set<ScanSession>().Where(s => s.Id == report.Id && s.ReportBlobKey == report.Key)
                .ExecuteUpdateAsync(set => set.SetProperty(s => s.ReportBlobKey, (string?)null), cancellationToken);
        }

        return new RetentionBatchResult(reports.Count, reports.Count);
    }
}

/// <summary>Rule <c>scan-file-results</c>: the per-file rows of finished sessions.</summary>
public sealed class ScanFileResultsRetention(SagasDbContext db) : IRetentionRule
{
    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken)
    {
        var deleted = await ScanSessionRetention.DeleteResultsAsync(db, batch, cancellationToken);
        // A short batch of a few small sessions does not mean nothing is left of the others.
        return new RetentionBatchResult(deleted > 0 ? batch.Size : 0, deleted);
    }
}

/// <summary>
/// Rule <c>scan-session-sagas</c>: finished saga instances. They are kept at all only so that late duplicates of a
/// session's events are recognised and ignored; after the period none is expected.
/// </summary>
public sealed class ScanSessionSagasRetention(SagasDbContext db) : IRetentionRule
{
    private static readonly string[] FinalStates = ["Completed", "Failed", "Cancelled"];

    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken) =>
        RetentionBatchResult.Rows(await db.Set<ScanSessionState>()
            .Where(s => FinalStates.Contains(s.CurrentState) && s.FinishedAt != null && s.FinishedAt < batch.Cutoff)
            .OrderBy(s => s.FinishedAt)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken));
}

/// <summary>
/// Rule <c>scan-sessions</c>: the session row itself, last. Whatever the other rules left (they may be disabled or
/// longer) goes first: result rows in batches, then the blobs, then the row (its secret row, if any, cascades).
/// </summary>
public sealed class ScanSessionsRetention(SagasDbContext db, IBlobStore blobs) : IRetentionRule
{
    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken)
    {
        var results = await ScanSessionRetention.DeleteResultsAsync(db, batch, cancellationToken);
        if (results > 0)
            return new RetentionBatchResult(batch.Size, results);

        var sessions = await ScanSessionRetention.Due(db, batch.Cutoff)
            .OrderBy(s => s.CompletedAt)
            .Select(s => new { s.Id, s.SourceDeletedAt, s.ReportBlobKey })
            .Take(batch.Size)
            .ToListAsync(cancellationToken);

        var deleted = 0;
        foreach (var session in sessions)
        {
            if (session.SourceDeletedAt is null)
                deleted += await ScanSessionRetention.DeleteSourceBlobsAsync(blobs, session.Id, cancellationToken);
            if (session.ReportBlobKey is { } report)
            {
                await blobs.DeleteAsync(report, cancellationToken);
                deleted++;
            }
        }

        var ids = sessions.Select(s => s.Id).ToList();
        deleted += await db.Set<ScanSession>()
            .Where(s => ids.Contains(s.Id) && ScanSessionStatus.Finished.Contains(s.Status))
            .ExecuteDeleteAsync(cancellationToken);
        return new RetentionBatchResult(sessions.Count, deleted);
    }
}
