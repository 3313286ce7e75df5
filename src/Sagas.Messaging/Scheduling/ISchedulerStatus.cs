namespace Sagas.Messaging.Scheduling;

/// <summary>Whether scheduled messages of this process will be delivered; read by the readiness check.</summary>
public interface ISchedulerStatus
{
    ValueTask<SchedulerStatusReport> GetStatusAsync(CancellationToken cancellationToken);
}

public sealed record SchedulerStatusReport(bool Ready, string Description);
