using MassTransit;
using Sagas.Contracts.LlmJobs;
using Sagas.LlmJobs.Data;
using Sagas.Messaging.Outbox;

namespace Sagas.LlmJobs.StateMachines;

/// <summary>
/// Orchestrates one LLM job: starts provider submission, enforces the deadline, coordinates cancellation and
/// announces the outcome. Per-item work never touches this saga; it reports through <see cref="LlmJobItemsFinished"/>.
/// Finished instances are kept (not removed) so that late duplicates of any event are recognised and ignored,
/// until the retention rule <c>llm-job-sagas</c> deletes them (30 days by default).
/// <para>
/// How a job ends is decided at the job row, by whichever of the last results and the stop commits first
/// (<see cref="LlmJobLedger"/>); the saga takes that status from <see cref="LlmJobItemsFinished"/>, so a cancel
/// that lost the race to the last result ends Completed here as on the row, in <see cref="LlmJobFinished"/> and in the
/// webhook.
/// </para>
/// </summary>
public sealed class LlmJobStateMachine : MassTransitStateMachine<LlmJobState>
{
    public LlmJobStateMachine()
    {
        InstanceState(x => x.CurrentState);

        Event(() => Accepted, e => e.CorrelateById(m => m.Message.JobId));
        Event(() => Started, e => e.CorrelateById(m => m.Message.JobId));
        Event(() => ItemsFinished, e => e.CorrelateById(m => m.Message.JobId));
        Event(() => CancelRequested, e =>
        {
            e.CorrelateById(m => m.Message.JobId);
            // The API answers 404 for unknown jobs before publishing; a cancel racing a never-accepted job has nothing to stop.
            e.OnMissingInstance(m => m.Discard());
        });
        Event(() => PausedByBudget, e =>
        {
            e.CorrelateById(m => m.Message.JobId);
            e.OnMissingInstance(m => m.Discard());
        });
        Event(() => ResumeRequested, e =>
        {
            e.CorrelateById(m => m.Message.JobId);
            e.OnMissingInstance(m => m.Discard());
        });
        Schedule(() => Deadline, x => x.DeadlineTokenId, s => s.Received = r => r.CorrelateById(m => m.Message.JobId));

        Initially(
            When(Accepted)
                .Then(context =>
                {
                    context.Saga.TotalItems = context.Message.TotalItems;
                    context.Saga.Priority = context.Message.Priority;
                    context.Saga.Mode = context.Message.Mode;
                    context.Saga.ExpiresAt = context.Message.ExpiresAt;
                    context.Saga.AcceptedAt = context.SentTime is { } sent ? new DateTimeOffset(sent, TimeSpan.Zero) : DateTimeOffset.UtcNow;
                })
                .Schedule(Deadline, context => new LlmJobDeadlineReached(context.Saga.CorrelationId), context => context.Saga.ExpiresAt.UtcDateTime)
                .PublishThroughOutbox(context => new StartLlmJobItems(context.Saga.CorrelationId))
                .TransitionTo(Queued));

        During(Queued,
            When(Started)
                .TransitionTo(Running));

        During(Queued, Running, Paused,
            When(CancelRequested)
                .Then(context => context.Saga.StopReason = LlmJobStopReason.Cancelled)
                .PublishThroughOutbox(context => new StopLlmJobItems(context.Saga.CorrelationId, LlmJobStopReason.Cancelled, context.Message.Reason))
                .TransitionTo(Stopping),
            When(Deadline.Received)
                .Then(context => context.Saga.StopReason = LlmJobStopReason.Expired)
                .PublishThroughOutbox(context => new StopLlmJobItems(
                    context.Saga.CorrelationId,
                    LlmJobStopReason.Expired,
                    $"The job passed its deadline of {context.Saga.ExpiresAt:u}."))
                .TransitionTo(Stopping));

        // A budget stop: nothing more is sent until the budget is raised. Items already at the provider finish meanwhile;
        // a cancel still stops the job, and the deadline still expires it (a pause does not extend the time given to a job).
        During(Queued, Running,
            When(PausedByBudget)
                .Then(context => context.Saga.PausedReason = context.Message.Reason)
                .TransitionTo(Paused),
            // A resume can overtake the pause it answers (the budget was raised before the saga saw the pause): the
            // queued items are sent anyway. A second delivery claims nothing the first holds, so this is harmless.
            When(ResumeRequested)
                .PublishThroughOutbox(context => new StartLlmJobItems(context.Saga.CorrelationId)));
        During(Paused,
            When(ResumeRequested)
                .Then(context => context.Saga.PausedReason = null)
                .PublishThroughOutbox(context => new StartLlmJobItems(context.Saga.CorrelationId))
                .TransitionTo(Running),
            Ignore(PausedByBudget),
            Ignore(Started));

        During(Queued, Running, Stopping, Paused,
            When(ItemsFinished)
                .Unschedule(Deadline)
                .Then(context => context.Saga.FinishedAt = context.SentTime is { } sent ? new DateTimeOffset(sent, TimeSpan.Zero) : DateTimeOffset.UtcNow)
                .IfElse(context => EndOf(context.Saga, context.Message) == LlmJobStatus.Cancelled,
                    cancelled => cancelled.TransitionTo(Cancelled),
                    finished => finished.IfElse(context => EndOf(context.Saga, context.Message) == LlmJobStatus.Completed,
                        completed => completed.TransitionTo(Completed),
                        failed => failed.TransitionTo(Failed)))
                .PublishThroughOutbox(context => new LlmJobFinished(
                    context.Saga.CorrelationId,
                    StatusOf(context.Saga.CurrentState),
                    context.Message.TotalItems,
                    context.Message.SucceededItems,
                    context.Message.FailedItems,
                    context.Message.CancelledItems,
                    context.Saga.FinishedAt!.Value)));

        // Redelivered or late events after a decision change nothing.
        During(Stopping,
            Ignore(Started),
            Ignore(CancelRequested),
            Ignore(Deadline.Received),
            Ignore(PausedByBudget),
            Ignore(ResumeRequested));
        During(Running,
            Ignore(Started));
        During(Completed, Failed, Cancelled,
            Ignore(PausedByBudget),
            Ignore(ResumeRequested),
            Ignore(Started),
            Ignore(ItemsFinished),
            Ignore(CancelRequested),
            Ignore(Deadline.Received));
        DuringAny(
            Ignore(Accepted));
    }

    public State Queued { get; private set; } = null!;

    public State Running { get; private set; } = null!;

    public State Stopping { get; private set; } = null!;

    /// <summary>The budget was reached: queued items wait for <see cref="ResumeLlmJob"/>.</summary>
    public State Paused { get; private set; } = null!;

    public State Completed { get; private set; } = null!;

    public State Failed { get; private set; } = null!;

    public State Cancelled { get; private set; } = null!;

    public Event<LlmJobAccepted> Accepted { get; private set; } = null!;

    public Event<LlmJobStarted> Started { get; private set; } = null!;

    public Event<LlmJobItemsFinished> ItemsFinished { get; private set; } = null!;

    public Event<CancelLlmJob> CancelRequested { get; private set; } = null!;

    public Event<LlmJobPaused> PausedByBudget { get; private set; } = null!;

    public Event<ResumeLlmJob> ResumeRequested { get; private set; } = null!;

    public Schedule<LlmJobState, LlmJobDeadlineReached> Deadline { get; private set; } = null!;

    /// <summary>The row's final status; an event written before the status travelled with it falls back to the saga's own view.</summary>
    private static string EndOf(LlmJobState saga, LlmJobItemsFinished finished) => finished.Status switch
    {
        LlmJobStatus.Completed or LlmJobStatus.Failed or LlmJobStatus.Cancelled => finished.Status,
        _ when saga.StopReason == LlmJobStopReason.Cancelled => LlmJobStatus.Cancelled,
        _ => finished.SucceededItems > 0 ? LlmJobStatus.Completed : LlmJobStatus.Failed,
    };

    private static string StatusOf(string state) => state switch
    {
        nameof(Completed) => "completed",
        nameof(Failed) => "failed",
        nameof(Cancelled) => "cancelled",
        _ => state.ToLowerInvariant(),
    };
}
