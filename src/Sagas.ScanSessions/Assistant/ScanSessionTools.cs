using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sagas.Modules.Assistant;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;

namespace Sagas.ScanSessions.Assistant;

public sealed class CountScanSessionsTool(SagasDbContext db, TimeProvider clock) : DataTool(clock)
{
    public override string Name => "count_scan_sessions";

    public override string Description => "Counts scan sessions by status (dispatching, scanning, reporting, completed, failed, cancelled), created within a period.";

    public override string ParametersSchema => PeriodSchema();

    public override IReadOnlyList<string> Keywords { get; } = ["scan", "session"];

    public override async Task<object> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        return await CountByStatusAsync(db.Set<ScanSession>().AsNoTracking(), s => s.CreatedAt, s => s.Status, "scan_sessions",
            AssistantPeriod.Read(arguments, Now), cancellationToken);
    }

    public override string Describe(object result) => result is StatusCounts c
        ? $"Scan sessions created in {c.Period}: {c.Total:N0} ({Counts(c.ByStatus)})."
        : "";
}

/// <summary>Failed scan sessions for the assistant's <c>recent_failures</c>.</summary>
public sealed class FailedScanSessions(SagasDbContext db) : IRecentFailureSource
{
    public string Name => "scan_sessions";

    public string Description => "failed scan sessions";

    public string PromptWord => "scan";

    public async Task<IReadOnlyList<RecentFailure>> ListAsync(int limit, CancellationToken cancellationToken) =>
        await db.Set<ScanSession>().AsNoTracking()
            .Where(s => s.Status == ScanSessionStatus.Failed)
            .OrderByDescending(s => s.CreatedAt).Take(limit)
            .Select(s => new RecentFailure("scan_session", s.Id.ToString(), s.Status, s.CreatedAt, s.CompletedAt, s.Error))
            .ToListAsync(cancellationToken);
}
