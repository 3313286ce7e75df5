using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Core.Http;
using Sagas.Messaging;
using Sagas.Modules.Usage.Budgets;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Calls;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.PromptAnalyses.Consumers;

/// <summary>
/// Asks one platform through <see cref="IPlatformCaller"/> (limits and retries are its business) and records the
/// answer. Provider failures come back as outcomes and become that platform's error row, never an exception here.
/// Only the delivery that claims the response row calls the platform: a copy of the ask on any worker finds the row
/// claimed (or final) and asks nobody.
/// </summary>
/// <remarks>
/// Before the call the ask's estimated cost is reserved on the run's budget and the project's budget of the day
/// (<c>docs/budgets.md</c>); when a budget cannot hold it the platform is not asked, the claim is given back and the
/// analysis saga is told to park the ask until a budget is raised.
/// </remarks>
public sealed class AskPromptPlatformConsumer(
    SagasDbContext db,
    PlatformResponseRecorder recorder,
    IPlatformCaller caller,
    BudgetStore budgets,
    BudgetEstimator estimator,
    BudgetMetrics budgetMetrics,
    TimeProvider clock,
    ILogger<AskPromptPlatformConsumer> logger,
    IAnalysisPlatformCatalog? platforms = null)
    : IConsumer<AskPromptPlatform>
{
    /// <summary>The shortest wait before a deferred ask comes back, so a breaker half-open with every probe out is not asked in a loop.</summary>
    private static readonly TimeSpan MinimumDeferral = TimeSpan.FromSeconds(1);

    public async Task Consume(ConsumeContext<AskPromptPlatform> context)
    {
        var message = context.Message;
        var job = await db.Set<AnalysisJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == message.AnalysisId, context.CancellationToken);
        if (job is null)
        {
            logger.LogWarning("Ask for {Platform} names analysis {AnalysisId}, which does not exist; dropped", message.Platform, message.AnalysisId);
            return;
        }

        // Asks already out when the analysis was cancelled: checked before the claim, so nobody is asked and no row is
        // left processing. A cancel committing after this read is not seen: that one call still goes out.
        if (job.Status == AnalysisJobStatus.Cancelled)
        {
            logger.LogDebug("Ask for {Platform} of analysis {AnalysisId}: the analysis is cancelled; not asked", message.Platform, message.AnalysisId);
            return;
        }

        // The message id names this delivery: its own redelivery (a crash, a retry) takes the claim back, a copy does not.
        var claim = context.MessageId ?? NewId.NextGuid();
        var claimed = await recorder.ClaimAsync(job, message.Platform, claim, context.CancellationToken);
        if (claimed.Outcome != AskClaimOutcome.Claimed)
        {
            // Its holder finishes it: by answering, by its own redelivery after a crash, or through the fault consumer.
            logger.LogDebug("Ask for {Platform} of analysis {AnalysisId}: response {Outcome}; not asked again", message.Platform, message.AnalysisId, claimed.Outcome);
            return;
        }

        var reservation = await budgets.ReserveAsync([BudgetCallOf(job, message.Platform, claimed.ResponseId)], context.CancellationToken);
        if (reservation.Refusal is { } refusal)
        {
            logger.LogInformation("Ask for {Platform} of analysis {AnalysisId} parked: {Reason}", message.Platform, message.AnalysisId, refusal.Reason);
            budgetMetrics.Refused(PromptAnalysesModule.WorkflowName, refusal);
            await recorder.ReleaseAsync(claimed.ResponseId, claim, context.CancellationToken);
            await context.Publish(new PromptAnalysisPaused(job.Id, message.Platform, refusal.Reason, clock.GetUtcNow()));
            return;
        }

        var outcome = await caller.CallAsync(message.Platform, job.PromptText, null, context.CancellationToken);
        if (outcome.Error is { Kind: PlatformErrorKind.BreakerOpen } open)
        {
            // Not a failure of the analysis: the ask is put back and sent again once the breaker may have let go.
            var delay = open.RetryAfter is { } wait && wait > MinimumDeferral ? wait : MinimumDeferral;
            logger.LogInformation("Ask for {Platform} of analysis {AnalysisId} deferred by {Delay}: {Error}", message.Platform, message.AnalysisId, delay, open.Message);
            await recorder.ReleaseAsync(claimed.ResponseId, claim, context.CancellationToken);
            await context.SchedulePublish(delay, message);
            return;
        }

        // The platform answered (and billed): the recording is retried here, never the whole message.
        await DatabaseRetry.InPlaceAsync(
            token =>
            {
                db.ChangeTracker.Clear();
                return recorder.CompleteAsync(job, claimed.ResponseId, message.Platform, claim, outcome, token);
            },
            context.CancellationToken);
    }

    /// <summary>
    /// The ask as its budgets see it: keyed like its usage row, on its run and its project's day, estimated from the
    /// prompt on the platform's default model with one web search (a platform this process cannot name reserves nothing).
    /// </summary>
    private BudgetCall BudgetCallOf(AnalysisJob job, string platformName, Guid responseId)
    {
        var platform = platforms is not null && platforms.Contains(platformName) ? platforms.Get(platformName) : null;
        var estimate = platform is null ? 0m
            : estimator.Estimate(platform.IsSimulated ? PlatformNames.Simulated : platform.Name, platform.DefaultModel, job.PromptText.Length, webSearches: 1);
        var day = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        return new BudgetCall(PlatformResponseRecorder.UsageKey(responseId), BudgetScope.Of(PromptAnalysesModule.WorkflowName, job.RunId, job.ProjectId, day), estimate);
    }
}

public sealed class AskPromptPlatformConsumerDefinition : ConsumerDefinition<AskPromptPlatformConsumer>
{
    public AskPromptPlatformConsumerDefinition(PromptAnalysesOptions options) => ConcurrentMessageLimit = options.PlatformCallConcurrency;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<AskPromptPlatformConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context);
}

/// <summary>
/// An ask that kept failing (the database, not the provider) ends up here: the platform is recorded as failed so the
/// analysis still finishes and its slot is freed.
/// </summary>
public sealed class AskPromptPlatformFaultConsumer(SagasDbContext db, PlatformResponseRecorder recorder, TimeProvider clock) : IConsumer<Fault<AskPromptPlatform>>
{
    public async Task Consume(ConsumeContext<Fault<AskPromptPlatform>> context)
    {
        var message = context.Message.Message;
        var job = await db.Set<AnalysisJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == message.AnalysisId, context.CancellationToken);
        if (job is null)
            return;

        // The faulted delivery's claim is taken back; a row another delivery is still asking for is left to it.
        var claim = context.Message.FaultedMessageId ?? NewId.NextGuid();
        var claimed = await recorder.ClaimAsync(job, message.Platform, claim, context.CancellationToken);
        if (claimed.Outcome != AskClaimOutcome.Claimed)
            return;

        var reason = context.Message.Exceptions.FirstOrDefault()?.Message ?? "the platform call failed";
        var error = new PlatformError
        {
            Platform = message.Platform,
            Kind = PlatformErrorKind.ServerError,
            IsTransient = false,
            Message = $"The platform worker gave up: {reason}",
            RateLimit = RateLimitSnapshot.None(clock.GetUtcNow()),
        };
        await recorder.CompleteAsync(job, claimed.ResponseId, message.Platform, claim, PlatformCallOutcome.Failure(error, 0), context.CancellationToken);
    }
}

public sealed class AskPromptPlatformFaultConsumerDefinition : ConsumerDefinition<AskPromptPlatformFaultConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<AskPromptPlatformFaultConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context);
}
