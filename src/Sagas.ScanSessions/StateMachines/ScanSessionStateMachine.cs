using MassTransit;
using Sagas.Contracts.ScanSessions;
using Sagas.Messaging.Outbox;
using Sagas.ScanSessions.Data;

namespace Sagas.ScanSessions.StateMachines;

/// <summary>
/// Orchestrates one scan session through its phases: dispatch, scan, report. Files never touch this saga: the
/// workers count them in <see cref="ScanSession"/> and report the end once through <see cref="ScanFilesCompleted"/>,
/// which may overtake <see cref="ScanFilesDispatched"/> for a tiny session. Finished instances are kept so late
/// duplicates are recognised and ignored.
/// <para>
/// The session row decides how a session ends and the saga follows it: a cancel racing the last file is settled by
/// whichever of the two commits first on the row (<see cref="ScanFilesCompleted"/> or <see cref="ScanSessionCancelled"/>,
/// each written with the row's change), never by the order in which the saga hears of them. The user's
/// <see cref="CancelScanSession"/> is only a request and changes nothing here.
/// </para>
/// </summary>
public sealed class ScanSessionStateMachine : MassTransitStateMachine<ScanSessionState>
{
    public ScanSessionStateMachine()
    {
        InstanceState(x => x.CurrentState);

        Event(() => Start, e => e.CorrelateById(m => m.Message.SessionId));
        Event(() => FilesDispatched, e => e.CorrelateById(m => m.Message.SessionId));
        Event(() => FilesCompleted, e => e.CorrelateById(m => m.Message.SessionId));
        Event(() => ReportBuilt, e => e.CorrelateById(m => m.Message.SessionId));
        Event(() => SessionFailed, e =>
        {
            e.CorrelateById(m => m.Message.SessionId);
            e.OnMissingInstance(m => m.Discard());
        });
        Event(() => CancelRequested, e =>
        {
            e.CorrelateById(m => m.Message.SessionId);
            e.OnMissingInstance(m => m.Discard());
        });
        // A cancel that overtook the start creates the instance already cancelled: the start that follows is ignored.
        Event(() => SessionCancelled, e => e.CorrelateById(m => m.Message.SessionId));

        Initially(
            When(Start)
                .Then(context => context.Saga.StartedAt = Now(context))
                .PublishThroughOutbox(context => new DispatchScanSession(
                    context.Saga.CorrelationId,
                    context.Message.Source,
                    context.Message.TargetCodes,
                    context.Message.RequestedBy))
                .TransitionTo(Dispatching),
            When(SessionCancelled)
                .Then(context => context.Saga.FinishedAt = Now(context))
                .TransitionTo(Cancelled));

        During(Dispatching,
            When(FilesDispatched)
                .Then(context => context.Saga.TotalFiles = context.Message.TotalFiles)
                .TransitionTo(Scanning));

        During(Dispatching, Scanning,
            When(FilesCompleted)
                .Then(context =>
                {
                    context.Saga.TotalFiles ??= context.Message.Total;
                    context.Saga.TotalProcessed = context.Message.Total;
                    context.Saga.TotalMatches = context.Message.Matches;
                })
                .PublishThroughOutbox(context => new BuildScanReport(context.Saga.CorrelationId))
                .TransitionTo(Reporting),
            When(SessionCancelled)
                .Then(context => context.Saga.FinishedAt = Now(context))
                .TransitionTo(Cancelled));

        During(Reporting,
            When(ReportBuilt)
                .Then(context =>
                {
                    context.Saga.ReportBlobKey = context.Message.BlobKey;
                    context.Saga.FinishedAt = Now(context);
                })
                .PublishThroughOutbox(context => new ScanSessionCompleted(
                    context.Saga.CorrelationId,
                    context.Message.BlobKey,
                    context.Saga.TotalMatches ?? 0,
                    context.Saga.TotalProcessed ?? 0))
                .TransitionTo(Completed),
            // The row reached reporting before any cancel did (the cancel consumer leaves such a row alone).
            Ignore(SessionCancelled),
            Ignore(FilesDispatched),
            Ignore(FilesCompleted));

        During(Dispatching, Scanning, Reporting,
            When(SessionFailed)
                .Then(context =>
                {
                    context.Saga.FailureReason = context.Message.Reason.Length > 2000 ? context.Message.Reason[..2000] : context.Message.Reason;
                    context.Saga.FinishedAt = Now(context);
                })
                .TransitionTo(Failed));

        During(Dispatching, Scanning,
            Ignore(ReportBuilt));
        During(Scanning,
            Ignore(FilesDispatched));
        During(Completed, Failed, Cancelled,
            Ignore(FilesDispatched),
            Ignore(FilesCompleted),
            Ignore(ReportBuilt),
            Ignore(SessionFailed),
            Ignore(SessionCancelled));
        // The request reaches this queue too (it is bound to the message type) but only the row's answer counts.
        DuringAny(
            Ignore(Start),
            Ignore(CancelRequested));
    }

    public State Dispatching { get; private set; } = null!;

    public State Scanning { get; private set; } = null!;

    public State Reporting { get; private set; } = null!;

    public State Completed { get; private set; } = null!;

    public State Failed { get; private set; } = null!;

    public State Cancelled { get; private set; } = null!;

    public Event<StartScanSession> Start { get; private set; } = null!;

    public Event<ScanFilesDispatched> FilesDispatched { get; private set; } = null!;

    public Event<ScanFilesCompleted> FilesCompleted { get; private set; } = null!;

    public Event<ScanReportBuilt> ReportBuilt { get; private set; } = null!;

    public Event<ScanSessionFailed> SessionFailed { get; private set; } = null!;

    public Event<CancelScanSession> CancelRequested { get; private set; } = null!;

    public Event<ScanSessionCancelled> SessionCancelled { get; private set; } = null!;

    private static DateTimeOffset Now<T>(BehaviorContext<ScanSessionState, T> context)
        where T : class =>
        context.SentTime is { } sent ? new DateTimeOffset(sent, TimeSpan.Zero) : DateTimeOffset.UtcNow;
}
