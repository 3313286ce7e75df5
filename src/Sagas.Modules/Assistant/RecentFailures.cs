namespace Sagas.Modules.Assistant;

public sealed record RecentFailure(string Kind, string Id, string Status, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt, string? Error);

/// <summary>
/// One kind of failure the assistant's <c>recent_failures</c> tool can list (failed jobs, failed items, failed
/// sessions, …). A workflow registers its sources as scoped services; the tool offers them all as its <c>source</c> values.
/// </summary>
public interface IRecentFailureSource
{
    /// <summary>snake_case, the tool's <c>source</c> value, e.g. <c>scan_sessions</c>.</summary>
    string Name { get; }

    /// <summary>What it lists, for the tool's description, e.g. "failed scan sessions".</summary>
    string Description { get; }

    /// <summary>
    /// A word that makes the simulated assistant ask this source alone. Sources registered later are tried first, so a
    /// workflow registers its broader source before a narrower one ("job" before "item").
    /// </summary>
    string PromptWord { get; }

    /// <summary>The newest <paramref name="limit"/> failures of this kind.</summary>
    Task<IReadOnlyList<RecentFailure>> ListAsync(int limit, CancellationToken cancellationToken);
}
