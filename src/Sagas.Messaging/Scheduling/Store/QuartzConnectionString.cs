using Npgsql;

namespace Sagas.Messaging.Scheduling.Store;

/// <summary>The connection string Quartz's PostgreSQL store opens its connections with.</summary>
public static class QuartzConnectionString
{
    /// <summary>Connections the scheduler needs besides its fires: acquisition, cluster check-in, misfire scan, requests being stored.</summary>
    public const int SchedulerConnections = 4;

    /// <summary>
    /// The configured connection string with a pool floor of one connection per concurrent fire plus
    /// <see cref="SchedulerConnections"/>. Npgsql closes connections idle for its idle lifetime (300 s) down to the
    /// pool's minimum; a burst of schedule requests grows the pool, and about five minutes later that pruning fell into
    /// the minute its one-offs were due, so the fires reopened tens of connections (fork and SCRAM authentication each)
    /// while the others waited on the store's lock (docs/performance.md, scheduler-precision). A larger configured
    /// minimum is kept; the maximum is never exceeded.
    /// </summary>
    public static string For(string connectionString, int maxConcurrency)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var floor = Math.Min(maxConcurrency + SchedulerConnections, builder.MaxPoolSize);
        if (builder.MinPoolSize < floor)
            builder.MinPoolSize = floor;
        return builder.ConnectionString;
    }
}
