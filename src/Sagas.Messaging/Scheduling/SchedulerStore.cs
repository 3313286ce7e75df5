using Sagas.Persistence;

namespace Sagas.Messaging.Scheduling;

/// <summary>
/// Where Quartz keeps its jobs: the PostgreSQL database of the system (tables <c>qrtz_*</c>, apart from the EF Core
/// model) or, for the embedded SQLite default, memory.
/// </summary>
public sealed record SchedulerStore(DatabaseProvider Provider, string ConnectionString)
{
    public bool IsPersistent => Provider == DatabaseProvider.PostgreSql;
}
