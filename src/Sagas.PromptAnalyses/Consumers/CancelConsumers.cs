using MassTransit;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Messaging;
using Sagas.PromptAnalyses.Runs;

namespace Sagas.PromptAnalyses.Consumers;

/// <summary>
/// The cancel step for one analysis (the API's route and the Runs page's bulk cancel both send it): under the claim
/// lock, so it and a claim of the same pending job end with exactly one of them having taken the row.
/// </summary>
public sealed class CancelPromptAnalysisConsumer(PromptAnalysisClaimer claimer) : IConsumer<CancelPromptAnalysis>
{
    public Task Consume(ConsumeContext<CancelPromptAnalysis> context) =>
        claimer.CancelAsync(context.Message.AnalysisId, context.Message.Reason, context.CancellationToken);
}

public sealed class CancelPromptAnalysisConsumerDefinition : ConsumerDefinition<CancelPromptAnalysisConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<CancelPromptAnalysisConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context);
}

/// <summary>The cancel step for a whole run: its pending and running analyses, and those its fan-out creates later.</summary>
public sealed class CancelPromptAnalysisRunConsumer(PromptAnalysisClaimer claimer) : IConsumer<CancelPromptAnalysisRun>
{
    public Task Consume(ConsumeContext<CancelPromptAnalysisRun> context) =>
        claimer.CancelRunAsync(context.Message.RunId, context.Message.Reason, context.CancellationToken);
}

public sealed class CancelPromptAnalysisRunConsumerDefinition : ConsumerDefinition<CancelPromptAnalysisRunConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<CancelPromptAnalysisRunConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context);
}
