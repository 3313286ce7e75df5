using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.ScanSessions;
using Sagas.Modules.Runs;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.StateMachines;

// These expressions run in the database as lower(…) LIKE: culture overloads have no SQL translation.
#pragma warning disable CA1304, CA1311, CA1862

namespace Sagas.ScanSessions.Runs;

/// <summary>A scan session is a run; text matches its source and its files' names; the activity is files recorded.</summary>
public sealed class ScanSessionRuns : WorkflowRuns
{
    public override IReadOnlyList<Type> SagaTypes { get; } = [typeof(ScanSessionState)];

    public override IReadOnlyList<string> Statuses => ScanSessionStatus.All;

    public override IQueryable<RunRow> Rows(SagasDbContext db) =>
        db.Set<ScanSession>().Select(session => new RunRow
        {
            Id = session.Id,
            Status = session.Status,
            ProjectId = null,
            Title = session.SourceDescription,
            CreatedAt = session.CreatedAt,
            FinishedAt = session.CompletedAt,
        });

    public override Expression<Func<RunRow, bool>> TextMatches(SagasDbContext db, string text) =>
        row => row.Title.ToLower().Contains(text)
               || db.Set<ScanFileResult>().Any(file => file.SessionId == row.Id && file.Name.ToLower().Contains(text));

    public override IReadOnlyList<string> CancellableStatuses { get; } = [ScanSessionStatus.Dispatching, ScanSessionStatus.Scanning];

    public override object? CancelCommand(Guid id, string? reason) => new CancelScanSession(id);

    public override string? DetailRoute(RunRow row) => $"#/scan/{row.Id}";

    public override async Task<IReadOnlyList<RunActivityMinute>> ActivityAsync(SagasDbContext db, Guid id, CancellationToken cancellationToken)
    {
        var files = await db.Set<ScanFileResult>().AsNoTracking()
            .Where(file => file.SessionId == id)
            .Take(RunActivity.MaxRows)
            .Select(file => new { At = file.ProcessedAt, Failed = file.Error != null })
            .ToListAsync(cancellationToken);
        return RunActivity.PerMinute("files recorded", files.Select(f => (f.At, f.Failed)));
    }
}
