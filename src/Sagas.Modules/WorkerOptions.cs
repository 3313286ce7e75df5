namespace Sagas.Modules;

public sealed class WorkerOptions
{
    public const string SectionName = "Worker";

    /// <summary>
    /// Comma-separated roles this process runs: <c>all</c> (the default), <c>none</c>, or any of the names in
    /// <see cref="WorkerRoles.Known"/>. One image serves every container role this way.
    /// </summary>
    public string Roles { get; set; } = WorkerRoles.AllKeyword;
}
