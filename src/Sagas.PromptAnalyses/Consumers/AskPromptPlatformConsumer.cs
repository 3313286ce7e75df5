using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Core.Http;
using Sagas.Messaging;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Calls;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.PromptAnalyses.Consumers;

/// <summary>
/// Asks one platform through <see cref="IPlatformCaller"/> (limits and retries are its business) and records the
/// answer. Provider failures come back as outcomes and become that platform's error row, never an exception here.
/// </summary>
public sealed class AskPromptPlatformConsumer(
    SagasDbContext db, PlatformResponseRecorder recorder, IPlatformCaller caller, PlatformAskGate gate, ILogger<AskPromptPlatformConsumer> logger)
    : IConsumer<AskPromptPlatform>
{
    public async Task Consume(ConsumeContext<AskPromptPlatform> context)
    {
        var message = context.Message;
        var job = await db.Set<AnalysisJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == message.AnalysisId, context.CancellationToken);
        if (job is null)
        {
            logger.LogWarning("Ask for {Platform} names analysis {AnalysisId}, which does not exist; dropped", message.Platform, message.AnalysisId);
            return;
        }

        // A duplicate of an ask in progress here waits for it, then finds the response final and asks nobody.
        using var turn = await gate.EnterAsync(message.AnalysisId, message.Platform, context.CancellationToken);
        var responseId = await recorder.BeginAsync(job, message.Platform, context.CancellationToken);
        if (responseId is null)
            return;

        var outcome = await caller.CallAsync(message.Platform, job.PromptText, null, context.CancellationToken);
        await recorder.CompleteAsync(job, responseId.Value, message.Platform, outcome, context.CancellationToken);
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

        var responseId = await recorder.BeginAsync(job, message.Platform, context.CancellationToken);
        if (responseId is null)
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
        await recorder.CompleteAsync(job, responseId.Value, message.Platform, PlatformCallOutcome.Failure(error, 0), context.CancellationToken);
    }
}

public sealed class AskPromptPlatformFaultConsumerDefinition : ConsumerDefinition<AskPromptPlatformFaultConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<AskPromptPlatformFaultConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context);
}
