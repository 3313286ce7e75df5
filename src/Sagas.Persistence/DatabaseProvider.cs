namespace Sagas.Persistence;

public enum DatabaseProvider
{
    /// <summary>A file under the data folder; the embedded default, one process only.</summary>
    Sqlite,

    /// <summary>The production store, shared by every API and worker instance.</summary>
    PostgreSql,
}
