using MassTransit;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Messaging;

namespace Sagas.PromptAnalyses.StateMachines;

public sealed class PromptAnalysisStateDefinition : SagaDefinition<PromptAnalysisState>
{
    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<PromptAnalysisState> sagaConfigurator, IRegistrationContext context)
    {
        // Events of one analysis are serialised; different analyses run in parallel.
        var partition = endpointConfigurator.CreatePartitioner(16);
        sagaConfigurator.Message<StartPromptAnalysis>(m => m.UsePartitioner(partition, x => x.Message.AnalysisId));
        sagaConfigurator.Message<PromptPlatformAnswered>(m => m.UsePartitioner(partition, x => x.Message.AnalysisId));
        sagaConfigurator.Message<PromptAnalysisCancelled>(m => m.UsePartitioner(partition, x => x.Message.AnalysisId));
        sagaConfigurator.Message<PromptAnalysisPaused>(m => m.UsePartitioner(partition, x => x.Message.AnalysisId));
        sagaConfigurator.Message<ResumePromptAnalysis>(m => m.UsePartitioner(partition, x => x.Message.AnalysisId));

        endpointConfigurator.UseDatabaseRetryWithOutbox(context);
    }
}
