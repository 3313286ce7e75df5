using Npgsql;
using Quartz;

namespace Sagas.Messaging.Scheduling.Status;

/// <summary>Ready when this process's Quartz scheduler fires triggers and, for the clustered store, its database answers.</summary>
public sealed class QuartzSchedulerStatus(SchedulerLifecycle lifecycle, SchedulerStore database) : ISchedulerStatus
{
    public async ValueTask<SchedulerStatusReport> GetStatusAsync(CancellationToken cancellationToken)
    {
        if (lifecycle.Scheduler is not { } scheduler)
            return new SchedulerStatusReport(false, "Quartz scheduler not built yet");
        if (scheduler.Status != SchedulerStatus.Running)
            return new SchedulerStatusReport(false, $"Quartz scheduler {scheduler.SchedulerInstanceId} is {scheduler.Status}, not firing");
        if (!lifecycle.UsesDatabase)
            return new SchedulerStatusReport(true, $"Quartz scheduler running (in-memory store, instance {scheduler.SchedulerInstanceId})");

        try
        {
            await using var connection = new NpgsqlConnection(database.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
            return new SchedulerStatusReport(true, $"Quartz scheduler running (PostgreSQL cluster '{scheduler.SchedulerName}', instance {scheduler.SchedulerInstanceId})");
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new SchedulerStatusReport(false, $"Quartz job store database unreachable: {exception.GetType().Name}");
        }
    }
}
