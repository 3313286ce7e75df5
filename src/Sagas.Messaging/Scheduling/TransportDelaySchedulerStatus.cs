namespace Sagas.Messaging.Scheduling;

/// <summary>
/// The in-memory transport delivers scheduled messages from its own delay queue inside this process,
/// so the scheduler is ready whenever the bus is.
/// </summary>
public sealed class TransportDelaySchedulerStatus : ISchedulerStatus
{
    public ValueTask<SchedulerStatusReport> GetStatusAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(new SchedulerStatusReport(true, "in-memory transport delay queue"));
}
