using MassTransit;
using Sagas.Messaging;

namespace Sagas.LlmJobs.StateMachines;

public sealed class LlmJobStateDefinition : SagaDefinition<LlmJobState>
{
    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<LlmJobState> sagaConfigurator, IRegistrationContext context)
    {
        // Events of one job are serialised; different jobs run in parallel.
        var partition = endpointConfigurator.CreatePartitioner(16);
        sagaConfigurator.Message<Contracts.LlmJobs.LlmJobAccepted>(m => m.UsePartitioner(partition, x => x.Message.JobId));
        sagaConfigurator.Message<Contracts.LlmJobs.LlmJobStarted>(m => m.UsePartitioner(partition, x => x.Message.JobId));
        sagaConfigurator.Message<Contracts.LlmJobs.LlmJobItemsFinished>(m => m.UsePartitioner(partition, x => x.Message.JobId));
        sagaConfigurator.Message<Contracts.LlmJobs.CancelLlmJob>(m => m.UsePartitioner(partition, x => x.Message.JobId));
        sagaConfigurator.Message<Contracts.LlmJobs.LlmJobDeadlineReached>(m => m.UsePartitioner(partition, x => x.Message.JobId));
        sagaConfigurator.Message<Contracts.LlmJobs.LlmJobPaused>(m => m.UsePartitioner(partition, x => x.Message.JobId));
        sagaConfigurator.Message<Contracts.LlmJobs.ResumeLlmJob>(m => m.UsePartitioner(partition, x => x.Message.JobId));

        endpointConfigurator.UseDatabaseRetryWithOutbox(context);
    }
}
