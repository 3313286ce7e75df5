namespace Sagas.Modules.Breakers;

/// <summary>
/// Where the cluster's breakers live: PostgreSQL when that is the database (every process shares it), memory otherwise
/// (SQLite is one process). Every change goes through <see cref="BreakerRules"/> under the store's lock. Called by the
/// report loop every interval and for probes, never on a closed breaker's calls.
/// </summary>
public interface IBreakerStore
{
    /// <summary>
    /// Adds each report's counts and applies the rules, one short transaction per breaker with news; then lets time
    /// act on every breaker that is due and returns every breaker's record.
    /// </summary>
    Task<IReadOnlyList<BreakerRecord>> ReportAsync(IReadOnlyList<BreakerReport> reports, Func<BreakerKey, BreakerSettings> settings, CancellationToken cancellationToken);

    /// <summary>Hands out a probe when the breaker is half-open (or is due to be) and one is left; at most ProbeCount across the cluster.</summary>
    Task<(bool Claimed, BreakerRecord Record)> TryClaimProbeAsync(BreakerKey key, BreakerSettings settings, CancellationToken cancellationToken);

    Task<BreakerRecord> CompleteProbeAsync(BreakerKey key, bool succeeded, BreakerSettings settings, CancellationToken cancellationToken);

    /// <summary>Closes the breaker; null when no such breaker was ever recorded.</summary>
    Task<BreakerRecord?> ResetAsync(BreakerKey key, CancellationToken cancellationToken);

    Task<IReadOnlyList<BreakerRecord>> ListAsync(CancellationToken cancellationToken);

    /// <summary>The newest transitions first.</summary>
    Task<IReadOnlyList<BreakerTransition>> TransitionsAsync(BreakerKey? key, int limit, CancellationToken cancellationToken);
}

/// <summary>The store of one process (SQLite, tests): a dictionary under a lock and the last transitions.</summary>
public sealed class InMemoryBreakerStore(TimeProvider clock) : IBreakerStore
{
    private const int KeptTransitions = 1_000;
    private readonly Lock _gate = new();
    private readonly Dictionary<BreakerKey, BreakerRecord> _records = [];
    private readonly LinkedList<BreakerTransition> _transitions = new();

    public Task<IReadOnlyList<BreakerRecord>> ReportAsync(IReadOnlyList<BreakerReport> reports, Func<BreakerKey, BreakerSettings> settings, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            foreach (var report in reports)
                Change(report.Key, now, record => BreakerRules.Apply(record, report, settings(report.Key), now));
            foreach (var key in _records.Keys.ToList())
                Change(key, now, record => BreakerRules.Advance(record, settings(key), now));
            return Task.FromResult<IReadOnlyList<BreakerRecord>>([.. _records.Values]);
        }
    }

    public Task<(bool Claimed, BreakerRecord Record)> TryClaimProbeAsync(BreakerKey key, BreakerSettings settings, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            var claimed = false;
            var record = Change(key, now, current =>
            {
                var (next, transition, ok) = BreakerRules.ClaimProbe(current, settings, now);
                claimed = ok;
                return (next, transition);
            });
            return Task.FromResult((claimed, record));
        }
    }

    public Task<BreakerRecord> CompleteProbeAsync(BreakerKey key, bool succeeded, BreakerSettings settings, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            return Task.FromResult(Change(key, now, record => BreakerRules.CompleteProbe(record, succeeded, settings, now)));
        }
    }

    public Task<BreakerRecord?> ResetAsync(BreakerKey key, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_records.ContainsKey(key))
                return Task.FromResult<BreakerRecord?>(null);
            var now = clock.GetUtcNow();
            return Task.FromResult<BreakerRecord?>(Change(key, now, record => BreakerRules.Reset(record, now)));
        }
    }

    public Task<IReadOnlyList<BreakerRecord>> ListAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
            return Task.FromResult<IReadOnlyList<BreakerRecord>>([.. _records.Values.OrderBy(r => r.Provider, StringComparer.Ordinal).ThenBy(r => r.Model, StringComparer.Ordinal)]);
    }

    public Task<IReadOnlyList<BreakerTransition>> TransitionsAsync(BreakerKey? key, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
            return Task.FromResult<IReadOnlyList<BreakerTransition>>([.. _transitions.Where(t => key is null || t.Key == key).Take(limit)]);
    }

    private BreakerRecord Change(BreakerKey key, DateTimeOffset now, Func<BreakerRecord, (BreakerRecord Record, BreakerTransition? Transition)> change)
    {
        var current = _records.TryGetValue(key, out var stored) ? stored : BreakerRecord.New(key, now);
        var (next, transition) = change(current);
        _records[key] = next;
        if (transition is not null)
        {
            _transitions.AddFirst(transition);
            if (_transitions.Count > KeptTransitions)
                _transitions.RemoveLast();
            BreakerMetrics.Transitioned(transition);
        }

        return next;
    }
}
