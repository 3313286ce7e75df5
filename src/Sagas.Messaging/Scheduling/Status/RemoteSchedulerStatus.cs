namespace Sagas.Messaging.Scheduling.Status;

/// <summary>
/// A process without the scheduler role only sends scheduling requests to the scheduler queue; the broker keeps them
/// until a scheduler process takes them, so this process is ready regardless.
/// </summary>
public sealed class RemoteSchedulerStatus(string schedulerQueue) : ISchedulerStatus
{
    public ValueTask<SchedulerStatusReport> GetStatusAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(new SchedulerStatusReport(true, $"scheduler runs in the processes with the scheduler role (queue '{schedulerQueue}')"));
}
