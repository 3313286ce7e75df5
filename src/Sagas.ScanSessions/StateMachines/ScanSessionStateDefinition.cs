using MassTransit;
using Sagas.Contracts.ScanSessions;
using Sagas.Messaging;

namespace Sagas.ScanSessions.StateMachines;

public sealed class ScanSessionStateDefinition : SagaDefinition<ScanSessionState>
{
    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<ScanSessionState> sagaConfigurator, IRegistrationContext context)
    {
        // Events of one session are serialised; different sessions run in parallel.
        var partition = endpointConfigurator.CreatePartitioner(16);
        sagaConfigurator.Message<StartScanSession>(m => m.UsePartitioner(partition, x => x.Message.SessionId));
        sagaConfigurator.Message<ScanFilesDispatched>(m => m.UsePartitioner(partition, x => x.Message.SessionId));
        sagaConfigurator.Message<ScanFilesCompleted>(m => m.UsePartitioner(partition, x => x.Message.SessionId));
        sagaConfigurator.Message<ScanReportBuilt>(m => m.UsePartitioner(partition, x => x.Message.SessionId));
        sagaConfigurator.Message<ScanSessionFailed>(m => m.UsePartitioner(partition, x => x.Message.SessionId));
        sagaConfigurator.Message<CancelScanSession>(m => m.UsePartitioner(partition, x => x.Message.SessionId));
        sagaConfigurator.Message<ScanSessionCancelled>(m => m.UsePartitioner(partition, x => x.Message.SessionId));

        endpointConfigurator.UseDatabaseRetryWithOutbox(context);
    }
}
