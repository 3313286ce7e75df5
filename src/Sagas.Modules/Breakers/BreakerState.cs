namespace Sagas.Modules.Breakers;

/// <summary>The state of one breaker. The numbers are the <c>sagas.breaker.state</c> gauge's values.</summary>
public enum BreakerState
{
    Closed = 0,
    HalfOpen = 1,
    Open = 2,
}

public static class BreakerStateNames
{
    public const string Closed = "closed";
    public const string HalfOpen = "half_open";
    public const string Open = "open";

    public static string Name(this BreakerState state) => state switch
    {
        BreakerState.Open => Open,
        BreakerState.HalfOpen => HalfOpen,
        _ => Closed,
    };

    public static BreakerState Parse(string name) => name switch
    {
        Open => BreakerState.Open,
        HalfOpen => BreakerState.HalfOpen,
        _ => BreakerState.Closed,
    };
}

/// <summary>Names one breaker: a provider and one of its models (empty when the caller names none).</summary>
public readonly record struct BreakerKey(string Provider, string Model)
{
    public override string ToString() => Model.Length == 0 ? Provider : $"{Provider}/{Model}";
}

/// <summary>
/// One process's news about one breaker since its last report: what its calls did, and the runs of failures among
/// them, so that a streak can be judged across processes (approximately: runs of two processes interleave).
/// </summary>
public sealed record BreakerReport(BreakerKey Key, long Successes, long Failures, long LongestRun, long TrailingRun, bool SawSuccess)
{
    public bool IsEmpty => Successes == 0 && Failures == 0;
}

/// <summary>The cluster's view of one breaker, as stored.</summary>
public sealed record BreakerRecord
{
    public required string Provider { get; init; }

    public required string Model { get; init; }

    public BreakerState State { get; init; }

    /// <summary>Failures in a row across the cluster (approximate within one report interval).</summary>
    public long ConsecutiveFailures { get; init; }

    public DateTimeOffset WindowStartedAt { get; init; }

    public long WindowCalls { get; init; }

    public long WindowFailures { get; init; }

    public long TotalCalls { get; init; }

    public long TotalFailures { get; init; }

    public DateTimeOffset? OpenedAt { get; init; }

    /// <summary>While open: when probes may start (the next probe at).</summary>
    public DateTimeOffset? OpenUntil { get; init; }

    /// <summary>While half-open: when the current probes were handed out; unfinished ones are handed out again after a break duration.</summary>
    public DateTimeOffset? HalfOpenedAt { get; init; }

    public int ProbesClaimed { get; init; }

    public int ProbesSucceeded { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public BreakerKey Key => new(Provider, Model);

    public static BreakerRecord New(BreakerKey key, DateTimeOffset now) => new()
    {
        Provider = key.Provider,
        Model = key.Model,
        State = BreakerState.Closed,
        WindowStartedAt = now,
        UpdatedAt = now,
    };
}

/// <summary>A change of state, as <c>provider_breaker_transitions</c> keeps it.</summary>
public sealed record BreakerTransition(BreakerKey Key, BreakerState From, BreakerState To, string Reason, DateTimeOffset At);
