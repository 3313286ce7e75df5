using MassTransit;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Messaging;
using Sagas.Messaging.Scheduling;
using Sagas.PromptAnalyses.Runs;

namespace Sagas.PromptAnalyses.Consumers;

/// <summary>
/// The daily schedule fired: the slot (the fire time Quartz scheduled, not the moment it ran) is the run key, so a
/// slot fired twice or redelivered starts one run.
/// </summary>
public sealed class ScheduledPromptAnalysisRunConsumer(PromptAnalysisRunStarter starter, ILogger<ScheduledPromptAnalysisRunConsumer> logger)
    : IConsumer<RunScheduledPromptAnalyses>
{
    public async Task Consume(ConsumeContext<RunScheduledPromptAnalyses> context)
    {
        var slot = SlotOf(context);
        var run = await starter.StartScheduledAsync(slot, context.CancellationToken);
        logger.LogInformation("Scheduled prompt analysis run for slot {Slot:O}: {RunId} ({Outcome})", slot, run.RunId, run.Created ? "started" : "already started");
    }

    /// <summary>The scheduled fire time from the scheduler's header; without it (sent by hand) the sent minute.</summary>
    public static DateTimeOffset SlotOf(ConsumeContext context)
    {
        if (ScheduledFireTime.Of(context) is { } scheduled)
            return scheduled;

        var sent = context.SentTime ?? DateTime.UtcNow;
        return new DateTimeOffset(sent.Ticks - (sent.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
    }
}

public sealed class ScheduledPromptAnalysisRunConsumerDefinition : ConsumerDefinition<ScheduledPromptAnalysisRunConsumer>
{
    public ScheduledPromptAnalysisRunConsumerDefinition() => EndpointName = PromptAnalysesRegistration.ScheduleQueue;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<ScheduledPromptAnalysisRunConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context);
}

/// <summary>One fan-out page per message; the page's last prompt id travels to the next message.</summary>
public sealed class DispatchPromptAnalysisRunConsumer(PromptAnalysisFanOut fanOut) : IConsumer<DispatchPromptAnalysisRun>
{
    public Task Consume(ConsumeContext<DispatchPromptAnalysisRun> context) =>
        fanOut.DispatchPageAsync(context.Message.RunId, context.Message.AfterPromptId, context.CancellationToken);
}

public sealed class DispatchPromptAnalysisRunConsumerDefinition : ConsumerDefinition<DispatchPromptAnalysisRunConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<DispatchPromptAnalysisRunConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context);
}

/// <summary>The claim step, on the recurring tick and after each fan-out page.</summary>
public sealed class ClaimPromptAnalysesConsumer(PromptAnalysisClaimer claimer) : IConsumer<ClaimPromptAnalyses>
{
    public Task Consume(ConsumeContext<ClaimPromptAnalyses> context) => claimer.ClaimAsync(context.CancellationToken);
}

public sealed class ClaimPromptAnalysesConsumerDefinition : ConsumerDefinition<ClaimPromptAnalysesConsumer>
{
    public ClaimPromptAnalysesConsumerDefinition()
    {
        EndpointName = PromptAnalysesRegistration.ClaimQueue;
        ConcurrentMessageLimit = 1;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<ClaimPromptAnalysesConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context);
}

/// <summary>An analysis finished: its job row becomes final and the freed slot is claimed at once.</summary>
public sealed class PromptAnalysisFinishedConsumer(PromptAnalysisClaimer claimer) : IConsumer<PromptAnalysisFinished>
{
    public Task Consume(ConsumeContext<PromptAnalysisFinished> context) => claimer.FinishAsync(context.Message, context.CancellationToken);
}

public sealed class PromptAnalysisFinishedConsumerDefinition : ConsumerDefinition<PromptAnalysisFinishedConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<PromptAnalysisFinishedConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context);
}
