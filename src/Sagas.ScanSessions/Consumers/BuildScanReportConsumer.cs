using MassTransit;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.ScanSessions;
using Sagas.Messaging;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.Ocr;
using Sagas.ScanSessions.Reports;
using Sagas.ScanSessions.Sources;
using Sagas.Storage.Blobs;

namespace Sagas.ScanSessions.Consumers;

/// <summary>
/// Writes the session workbook from the result rows to <c>scan-reports/{sessionId}.xlsx</c>, marks the session
/// completed and announces <see cref="ScanReportBuilt"/> through the outbox. Rewriting the same key makes a
/// redelivery harmless.
/// </summary>
public sealed class BuildScanReportConsumer(
    SagasDbContext db,
    OutboxWriter outbox,
    IBlobStore blobs,
    ScanReportWriter writer,
    TimeProvider clock) : IConsumer<BuildScanReport>
{
    public const string ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

    public static string ReportKey(Guid sessionId) => $"scan-reports/{sessionId:D}.xlsx";

    public async Task Consume(ConsumeContext<BuildScanReport> context)
    {
        var sessionId = context.Message.SessionId;
        var session = await db.Set<ScanSession>().AsNoTracking().SingleOrDefaultAsync(s => s.Id == sessionId, context.CancellationToken);
        if (session is null)
            return;

        var key = ReportKey(sessionId);
        if (session.Status == ScanSessionStatus.Completed && session.ReportBlobKey is not null)
        {
            // The commit happened but the saga may not have heard of it (a lost publish is re-driven by the outbox; this is a duplicate command).
            await context.Publish(new ScanReportBuilt(sessionId, session.ReportBlobKey), context.CancellationToken);
            return;
        }

        if (session.Status != ScanSessionStatus.Reporting)
            return;

        var completedAt = clock.GetUtcNow();
        var results = await db.Set<ScanFileResult>().AsNoTracking()
            .Where(r => r.SessionId == sessionId)
            .OrderBy(r => r.FileIndex)
            .ToListAsync(context.CancellationToken);
        var report = new ScanReport(
            sessionId,
            session.CreatedAt,
            completedAt,
            ScanSessionJson.Read(session.CodesJson),
            [.. results.Select(r => new ScanReportFile(r.Name, r.Status, ScanSessionJson.Read(r.MatchedCodesJson), r.Link, r.Error, OcrMatchJson.Read(r.OcrMatchesJson)))],
            session.TotalFiles);

        using (var workbook = new MemoryStream())
        {
            writer.Write(report, workbook);
            workbook.Position = 0;
            await blobs.PutAsync(key, workbook, ContentType, context.CancellationToken);
        }

        await using var transaction = await db.Database.BeginTransactionAsync(context.CancellationToken);
        var updated = await db.Set<ScanSession>()
            .Where(s => s.Id == sessionId && s.Status == ScanSessionStatus.Reporting)
            .ExecuteUpdateAsync(set => set
                .SetProperty(s => s.Status, ScanSessionStatus.Completed)
                .SetProperty(s => s.ReportBlobKey, key)
                .SetProperty(s => s.CompletedAt, completedAt)
                .SetProperty(s => s.Revision, s => s.Revision + 1), context.CancellationToken);
        if (updated == 0)
            return;

        await ScanSessionSecrets.ForgetAsync(db, sessionId, context.CancellationToken);
        outbox.Add(new ScanReportBuilt(sessionId, key));
        await db.SaveChangesAsync(context.CancellationToken);
        await transaction.CommitAsync(context.CancellationToken);
        outbox.Flush();
    }
}

public sealed class BuildScanReportConsumerDefinition : ConsumerDefinition<BuildScanReportConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<BuildScanReportConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context, retry =>
        {
            retry.AlsoRetry<IOException>();
            retry.RetryLimit = 8;
            retry.MinInterval = TimeSpan.FromMilliseconds(100);
            retry.MaxInterval = TimeSpan.FromSeconds(10);
            retry.IntervalDelta = TimeSpan.FromMilliseconds(200);
        });
}

/// <summary>
/// A report that could not be written after every retry fails the session (row and saga) instead of leaving it
/// reporting for ever.
/// </summary>
public sealed class BuildScanReportFaultConsumer(SagasDbContext db, OutboxWriter outbox, TimeProvider clock) : IConsumer<Fault<BuildScanReport>>
{
    public async Task Consume(ConsumeContext<Fault<BuildScanReport>> context)
    {
        var sessionId = context.Message.Message.SessionId;
        var reason = $"The report could not be written: {context.Message.Exceptions.FirstOrDefault()?.Message ?? "unknown error"}";
        if (reason.Length > 2000)
            reason = reason[..2000];

        await using var transaction = await db.Database.BeginTransactionAsync(context.CancellationToken);
        var updated = await db.Set<ScanSession>()
            .Where(s => s.Id == sessionId && s.Status == ScanSessionStatus.Reporting)
            .ExecuteUpdateAsync(set => set
                .SetProperty(s => s.Status, ScanSessionStatus.Failed)
                .SetProperty(s => s.Error, reason)
                .SetProperty(s => s.CompletedAt, clock.GetUtcNow())
                .SetProperty(s => s.Revision, s => s.Revision + 1), context.CancellationToken);
        if (updated == 0)
            return;

        await ScanSessionSecrets.ForgetAsync(db, sessionId, context.CancellationToken);
        outbox.Add(new ScanSessionFailed(sessionId, reason));
        await db.SaveChangesAsync(context.CancellationToken);
        await transaction.CommitAsync(context.CancellationToken);
        outbox.Flush();
    }
}

/// <summary>
/// Decides a cancel where the race with the last file is decided: at the session row. One conditional update moves a
/// dispatching or scanning row to cancelled and, in the same transaction, writes <see cref="ScanSessionCancelled"/> to
/// the outbox; the saga, the sockets and the webhooks follow that event. A row the recorder already moved to reporting
/// (the last file was counted first) is left alone: that session completes, and nobody is told it was cancelled. A
/// cancel that overtakes the start leaves a cancelled row behind, which the saga and the dispatcher then respect.
/// </summary>
public sealed class CancelScanSessionConsumer(SagasDbContext db, OutboxWriter outbox, TimeProvider clock) : IConsumer<CancelScanSession>
{
    public async Task Consume(ConsumeContext<CancelScanSession> context)
    {
        var sessionId = context.Message.SessionId;
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(context.CancellationToken);
        var updated = await db.Set<ScanSession>()
            .Where(s => s.Id == sessionId && (s.Status == ScanSessionStatus.Dispatching || s.Status == ScanSessionStatus.Scanning))
            .ExecuteUpdateAsync(set => set
                .SetProperty(s => s.Status, ScanSessionStatus.Cancelled)
                .SetProperty(s => s.CompletedAt, now)
                .SetProperty(s => s.Revision, s => s.Revision + 1), context.CancellationToken);
        if (updated == 0)
        {
            // Reporting or finished: the finish won, or this is a redelivered cancel that already won.
            if (await db.Set<ScanSession>().AnyAsync(s => s.Id == sessionId, context.CancellationToken))
                return;

            // A concurrent copy inserting the same row loses on the key and comes back through the retry to the branch above.
            db.Add(new ScanSession { Id = sessionId, Status = ScanSessionStatus.Cancelled, CreatedAt = now, CompletedAt = now });
        }
        else
        {
            await ScanSessionSecrets.ForgetAsync(db, sessionId, context.CancellationToken);
        }

        outbox.Add(new ScanSessionCancelled(sessionId));
        await db.SaveChangesAsync(context.CancellationToken);
        await transaction.CommitAsync(context.CancellationToken);
        outbox.Flush();
    }
}

public sealed class CancelScanSessionConsumerDefinition : ConsumerDefinition<CancelScanSessionConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<CancelScanSessionConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context);
}

public sealed class BuildScanReportFaultConsumerDefinition : ConsumerDefinition<BuildScanReportFaultConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<BuildScanReportFaultConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context);
}
