using MassTransit;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Messaging.Outbox;
using Sagas.PromptAnalyses.Data;

namespace Sagas.PromptAnalyses.StateMachines;

/// <summary>
/// One analysis of one prompt in one run. On start it asks every platform at once (one message each, so one slow or
/// failing platform holds up nobody) and counts answers by platform name, so a duplicate answer counts once and
/// answers may come in any order, even before the start. When every platform has answered it finishes: completed
/// when at least one succeeded, failed when none did. A cancel stops it in any unfinished state: it asks nobody more
/// and finishes as cancelled. Finished instances are kept so late duplicates are ignored.
/// </summary>
public sealed class PromptAnalysisStateMachine : MassTransitStateMachine<PromptAnalysisState>
{
    public PromptAnalysisStateMachine()
    {
        InstanceState(x => x.CurrentState);

        Event(() => Start, e => e.CorrelateById(m => m.Message.AnalysisId));
        Event(() => Answered, e => e.CorrelateById(m => m.Message.AnalysisId));
        Event(() => PausedByBudget, e =>
        {
            e.CorrelateById(m => m.Message.AnalysisId);
            e.OnMissingInstance(m => m.Discard());
        });
        Event(() => ResumeRequested, e =>
        {
            e.CorrelateById(m => m.Message.AnalysisId);
            e.OnMissingInstance(m => m.Discard());
        });

        // Cancel: the job row is already cancelled when this arrives (the cancel step wrote both in one transaction).
        Event(() => CancelRequested, e => e.CorrelateById(m => m.Message.AnalysisId));

        Initially(
            When(Start)
                .Then(Begin)
                .ThenAsync(AskPlatformsAsync)
                .TransitionTo(Asking)
                .If(IsFinished, finish => Finish(finish)),
            When(Answered)
                .Then(Record)
                .TransitionTo(AwaitingStart));

        During(AwaitingStart,
            When(Answered)
                .Then(Record),
            When(Start)
                .Then(Begin)
                .ThenAsync(AskPlatformsAsync)
                .TransitionTo(Asking)
                .If(IsFinished, finish => Finish(finish)));

        During(Asking,
            When(Answered)
                .Then(Record)
                .If(IsFinished, finish => Finish(finish)),
            Ignore(Start));

        // Finished instances are kept so late duplicates of every event are recognised and change nothing.
        During(Completed, Failed,
            Ignore(Start),
            Ignore(Answered),
            Ignore(PausedByBudget),
            Ignore(ResumeRequested),
            Ignore(CancelRequested));

        // A budget refused an ask: that platform waits, unasked, until a budget of the run is raised. Other platforms'
        // answers still count, and a pause that a resume already answered (it was refused before the raise) asks again.
        During(Asking, Paused,
            When(PausedByBudget)
                .IfElse(context => context.Saga.ResumedAt is { } resumed && context.Message.RefusedAt < resumed,
                    answered => answered.PublishThroughOutbox(context => new AskPromptPlatform(context.Saga.CorrelationId, context.Message.Platform)),
                    parked => parked.Then(Park).TransitionTo(Paused)),
            When(ResumeRequested)
                .Then(context => context.Saga.ResumedAt = context.Saga.ResumedAt is { } last && last > context.Message.RaisedAt ? last : context.Message.RaisedAt)
                .ThenAsync(AskParkedAsync)
                .TransitionTo(Asking));
        During(Paused,
            When(Answered)
                .Then(Record)
                .If(IsFinished, finish => Finish(finish)),
            Ignore(Start));

        // The cancel overtook the start: the instance is born cancelled, and the start that follows asks nobody.
        Initially(
            When(CancelRequested)
                .Then(StopAsking)
                .PublishThroughOutbox(context => CancelledFinish(context.Saga))
                .TransitionTo(Cancelled));

        During(AwaitingStart, Asking, Paused,
            When(CancelRequested)
                .Then(StopAsking)
                .PublishThroughOutbox(context => CancelledFinish(context.Saga))
                .TransitionTo(Cancelled));

        // Answers of asks already out are counted for the record; they finish nothing.
        During(Cancelled,
            When(Answered)
                .Then(Record),
            Ignore(Start),
            Ignore(CancelRequested),
            Ignore(PausedByBudget),
            Ignore(ResumeRequested));
    }

    /// <summary>The budget stopped at least one platform's ask; see <see cref="PromptAnalysisState.ParkedPlatforms"/>.</summary>
    public State Paused { get; private set; } = null!;

    public Event<PromptAnalysisPaused> PausedByBudget { get; private set; } = null!;

    public Event<ResumePromptAnalysis> ResumeRequested { get; private set; } = null!;

    private static void Park(BehaviorContext<PromptAnalysisState, PromptAnalysisPaused> context)
    {
        var parked = Parked(context.Saga);
        parked.Add(context.Message.Platform);
        context.Saga.ParkedPlatforms = string.Join(',', parked.Order(StringComparer.Ordinal));
        context.Saga.PausedReason = context.Message.Reason;
    }

    private static async Task AskParkedAsync(BehaviorContext<PromptAnalysisState, ResumePromptAnalysis> context)
    {
        var parked = Parked(context.Saga);
        context.Saga.ParkedPlatforms = null;
        context.Saga.PausedReason = null;
        foreach (var platform in parked.Where(platform => !context.Saga.AnsweredPlatforms.ContainsKey(platform)).Order(StringComparer.Ordinal))
            await context.PublishThroughOutbox(new AskPromptPlatform(context.Saga.CorrelationId, platform));
    }

    private static HashSet<string> Parked(PromptAnalysisState saga) =>
        (saga.ParkedPlatforms ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);

    public State AwaitingStart { get; private set; } = null!;

    public State Asking { get; private set; } = null!;

    public State Completed { get; private set; } = null!;

    public State Failed { get; private set; } = null!;

    /// <summary>Stopped by a cancel; platforms not yet asked are never asked.</summary>
    public State Cancelled { get; private set; } = null!;

    public Event<StartPromptAnalysis> Start { get; private set; } = null!;

    public Event<PromptPlatformAnswered> Answered { get; private set; } = null!;

    public Event<PromptAnalysisCancelled> CancelRequested { get; private set; } = null!;

    /// <summary>The run and prompt come with the cancel: before the start (born cancelled, or waiting for it) the instance has neither.</summary>
    private static void StopAsking(BehaviorContext<PromptAnalysisState, PromptAnalysisCancelled> context)
    {
        context.Saga.RunId = context.Message.RunId;
        context.Saga.PromptId = context.Message.PromptId;
        context.Saga.FinishedAt = Now(context);
    }

    private static PromptAnalysisFinished CancelledFinish(PromptAnalysisState saga) =>
        new(saga.CorrelationId, saga.RunId, saga.PromptId, AnalysisJobStatus.Cancelled, saga.TotalPlatforms, saga.SucceededPlatforms, saga.FailedPlatforms);

    private static void Begin(BehaviorContext<PromptAnalysisState, StartPromptAnalysis> context)
    {
        var platforms = context.Message.Platforms.Distinct(StringComparer.Ordinal).ToList();
        context.Saga.RunId = context.Message.RunId;
        context.Saga.PromptId = context.Message.PromptId;
        context.Saga.Platforms = platforms;
        context.Saga.TotalPlatforms = platforms.Count;
        context.Saga.StartedAt = Now(context);
        Recount(context.Saga);
    }

    /// <summary>Platforms that already answered (an answer overtook the start) are not asked again.</summary>
    private static async Task AskPlatformsAsync(BehaviorContext<PromptAnalysisState, StartPromptAnalysis> context)
    {
        var answered = context.Saga.AnsweredPlatforms;
        foreach (var platform in context.Saga.Platforms.Where(platform => !answered.ContainsKey(platform)))
            await context.PublishThroughOutbox(new AskPromptPlatform(context.Saga.CorrelationId, platform));
    }

    private static void Record(BehaviorContext<PromptAnalysisState, PromptPlatformAnswered> context)
    {
        var platform = context.Message.Platform;
        if (platform.Length == 0 || !context.Saga.AnsweredPlatforms.TryAdd(platform, context.Message.Succeeded))
            return;

        Recount(context.Saga);
    }

    /// <summary>Counts only answers of platforms that were asked; before the start every answer counts provisionally.</summary>
    private static void Recount(PromptAnalysisState saga)
    {
        var answers = saga.AnsweredPlatforms.Where(answer => saga.Platforms.Count == 0 || saga.Platforms.Contains(answer.Key)).ToList();
        saga.SucceededPlatforms = answers.Count(answer => answer.Value);
        saga.FailedPlatforms = answers.Count(answer => !answer.Value);
    }

    private static bool IsFinished<T>(BehaviorContext<PromptAnalysisState, T> context)
        where T : class =>
        context.Saga.SucceededPlatforms + context.Saga.FailedPlatforms >= context.Saga.TotalPlatforms;

    private EventActivityBinder<PromptAnalysisState, T> Finish<T>(EventActivityBinder<PromptAnalysisState, T> binder)
        where T : class =>
        binder
            .Then(context => context.Saga.FinishedAt = Now(context))
            .PublishThroughOutbox(context => new PromptAnalysisFinished(
                context.Saga.CorrelationId,
                context.Saga.RunId,
                context.Saga.PromptId,
                context.Saga.SucceededPlatforms > 0 ? AnalysisJobStatus.Completed : AnalysisJobStatus.Failed,
                context.Saga.TotalPlatforms,
                context.Saga.SucceededPlatforms,
                context.Saga.FailedPlatforms))
            .IfElse(context => context.Saga.SucceededPlatforms > 0,
                completed => completed.TransitionTo(Completed),
                failed => failed.TransitionTo(Failed));

    private static DateTimeOffset Now<T>(BehaviorContext<PromptAnalysisState, T> context)
        where T : class =>
        context.SentTime is { } sent ? new DateTimeOffset(sent, TimeSpan.Zero) : DateTimeOffset.UtcNow;
}
