using System.ComponentModel.DataAnnotations;

namespace Sagas.Messaging.SagaHistory;

/// <summary>
/// Section <c>Messaging:History</c>: the run history every state-machine saga keeps (<c>saga_history</c>). An instance
/// keeps its first <see cref="KeepFirst"/> and last <see cref="KeepLast"/> events; the ones in between are deleted as
/// new ones arrive (the history says how many), so a saga that polls for days keeps a bounded history.
/// </summary>
public sealed class SagaHistoryOptions
{
    public const string SectionName = "Messaging:History";

    public static readonly SagaHistoryOptions Default = new();

    /// <summary>False: no history row is written (the API then answers with an empty history).</summary>
    public bool Enabled { get; set; } = true;

    [Range(1, 10_000)]
    public int KeepFirst { get; set; } = 50;

    [Range(1, 100_000)]
    public int KeepLast { get; set; } = 200;
}
