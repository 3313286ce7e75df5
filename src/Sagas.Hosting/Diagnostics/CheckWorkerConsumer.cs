using MassTransit;
using Sagas.Contracts.Diagnostics;
using Sagas.Modules;

namespace Sagas.Hosting.Diagnostics;

public sealed class CheckWorkerConsumer(WorkerRoles roles, TimeProvider clock) : IConsumer<CheckWorker>
{
    public Task Consume(ConsumeContext<CheckWorker> context) =>
        context.RespondAsync(new WorkerChecked(context.Message.CorrelationId, Environment.MachineName, roles.ToString(), clock.GetUtcNow()));
}
