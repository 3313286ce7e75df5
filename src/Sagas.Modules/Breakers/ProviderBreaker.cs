namespace Sagas.Modules.Breakers;

/// <summary>What a call may do after asking its breaker.</summary>
public enum BreakerVerdict : byte
{
    /// <summary>Go ahead; report the outcome with <see cref="ProviderBreaker.Record"/>.</summary>
    Call,

    /// <summary>Go ahead as one of the half-open breaker's probes; report it with <see cref="ProviderBreaker.CompleteProbeAsync"/>.</summary>
    Probe,

    /// <summary>Do not call: the breaker is open. Defer the work; this spent no retry.</summary>
    Rejected,
}

/// <summary>A breaker's answer. A struct, so a closed breaker's answer allocates nothing.</summary>
public readonly record struct BreakerPermit(BreakerVerdict Verdict, TimeSpan RetryAfter)
{
    public static readonly BreakerPermit Call = new(BreakerVerdict.Call, TimeSpan.Zero);

    public bool IsAllowed => Verdict != BreakerVerdict.Rejected;

    public bool IsProbe => Verdict == BreakerVerdict.Probe;
}

/// <summary>
/// One provider and model's breaker as this process sees it. A call reads one field while the breaker is closed and
/// counts its outcome with interlocked increments; the report loop (<see cref="ProviderBreakers"/>) sends the counts to
/// the store and brings the cluster's state back every interval. Only open and half-open breakers touch the store
/// from a call, to claim a probe.
/// </summary>
public sealed class ProviderBreaker
{
    private readonly ProviderBreakers _owner;
    private readonly bool _enabled;
    private int _state;
    private long _openUntilTicks;
    private int _probesLeft;
    private Task? _claim;
    private long _successes;
    private long _failures;
    private long _run;
    private long _longestRun;
    private int _sawSuccess;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal ProviderBreaker(BreakerKey key, BreakerSettings settings, ProviderBreakers owner, bool enabled)
    {
        Key = key;
        Settings = settings;
        _owner = owner;
        _enabled = enabled;
    }

    public BreakerKey Key { get; }

    public BreakerSettings Settings { get; }

    public BreakerState State => (BreakerState)Volatile.Read(ref _state);

    /// <summary>Asks whether a call may go. Closed: answered at once, no I/O, no allocation.</summary>
    public ValueTask<BreakerPermit> EnterAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _state) == (int)BreakerState.Closed)
            return new ValueTask<BreakerPermit>(BreakerPermit.Call);
        return new ValueTask<BreakerPermit>(EnterSlowAsync(cancellationToken));
    }

    /// <summary>Counts a call's outcome (not a probe's). <paramref name="failed"/>: a failure the breaker counts (5xx, timeout, no connection).</summary>
    public void Record(bool failed)
    {
        if (!_enabled)
            return;
        if (failed)
        {
            Interlocked.Increment(ref _failures);
            var run = Interlocked.Increment(ref _run);
            var longest = Volatile.Read(ref _longestRun);
            while (run > longest)
            {
                var seen = Interlocked.CompareExchange(ref _longestRun, run, longest);
                if (seen == longest)
                    break;
                longest = seen;
            }
        }
        else
        {
            Interlocked.Increment(ref _successes);
            // Written only when it changes: most successes leave both alone and the cache line stays shared.
            if (Volatile.Read(ref _run) != 0)
                Interlocked.Exchange(ref _run, 0);
            if (Volatile.Read(ref _sawSuccess) == 0)
                Volatile.Write(ref _sawSuccess, 1);
        }
    }

    /// <summary>Reports a probe's outcome at once: it is what closes or reopens the breaker.</summary>
    public async Task CompleteProbeAsync(bool failed, CancellationToken cancellationToken)
    {
        var record = await _owner.Store.CompleteProbeAsync(Key, !failed, Settings, cancellationToken);
        Observe(record);
    }

    /// <summary>Records the outcome the way the permit says: counted for a call, reported at once for a probe.</summary>
    public Task CompleteAsync(BreakerPermit permit, bool failed, CancellationToken cancellationToken)
    {
        if (permit.IsProbe)
            return CompleteProbeAsync(failed, cancellationToken);
        if (permit.IsAllowed)
            Record(failed);
        return Task.CompletedTask;
    }

    private async Task<BreakerPermit> EnterSlowAsync(CancellationToken cancellationToken)
    {
        var clock = _owner.Clock;
        var deadline = clock.GetUtcNow() + (Settings.Behaviour == BreakerOpenBehaviour.Wait ? Settings.MaxWait : TimeSpan.Zero);
        while (true)
        {
            var changed = Volatile.Read(ref _changed).Task;
            var state = State;
            if (state == BreakerState.Closed)
                return BreakerPermit.Call;

            var now = clock.GetUtcNow();
            var openUntil = new DateTimeOffset(Volatile.Read(ref _openUntilTicks), TimeSpan.Zero);
            if ((state == BreakerState.HalfOpen && Volatile.Read(ref _probesLeft) > 0) || (state == BreakerState.Open && now >= openUntil))
            {
                if (await TryClaimProbeAsync(cancellationToken) is { } permit)
                    return permit;
                continue;
            }

            // Half-open with every probe out: the probes' results arrive within a report interval or two.
            var retryAfter = state == BreakerState.Open && openUntil > now ? openUntil - now : _owner.ReportInterval;
            if (now >= deadline)
            {
                BreakerMetrics.Rejected(Key);
                return new BreakerPermit(BreakerVerdict.Rejected, retryAfter);
            }

            var wait = deadline - now < retryAfter ? deadline - now : retryAfter;
            await Task.WhenAny(changed, Task.Delay(wait, clock, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Null when this process should not try again before the next refresh: one claim in flight per breaker and
    /// process, so a half-open breaker costs a statement per process, not one per waiting call.
    /// </summary>
    private async Task<BreakerPermit?> TryClaimProbeAsync(CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _claim, done.Task, null) is { } inFlight)
        {
            // Another call of this process is claiming: its answer (a probe taken, none left) is this call's news too.
            await inFlight.WaitAsync(cancellationToken);
            return null;
        }

        try
        {
            var (claimed, record) = await _owner.Store.TryClaimProbeAsync(Key, Settings, cancellationToken);
            Observe(record);
            if (claimed)
                return new BreakerPermit(BreakerVerdict.Probe, TimeSpan.Zero);
            if (record.State == BreakerState.Closed)
                return BreakerPermit.Call;
            // No probe left: wait for the refresh that brings the probes' verdict.
            Volatile.Write(ref _probesLeft, 0);
            return null;
        }
        finally
        {
            Volatile.Write(ref _claim, null);
            done.SetResult();
        }
    }

    /// <summary>The counts since the last report; null when there were none.</summary>
    internal BreakerReport? TakeReport()
    {
        var successes = Interlocked.Exchange(ref _successes, 0);
        var failures = Interlocked.Exchange(ref _failures, 0);
        var longest = Interlocked.Exchange(ref _longestRun, 0);
        var sawSuccess = Interlocked.Exchange(ref _sawSuccess, 0) == 1;
        if (successes == 0 && failures == 0)
            return null;
        return new BreakerReport(Key, successes, failures, longest, Volatile.Read(ref _run), sawSuccess);
    }

    /// <summary>Takes the cluster's state as the store returned it.</summary>
    internal void Observe(BreakerRecord record)
    {
        Volatile.Write(ref _openUntilTicks, (record.OpenUntil ?? DateTimeOffset.MinValue).UtcTicks);
        Volatile.Write(ref _probesLeft, Math.Max(0, Settings.ProbeCount - record.ProbesClaimed));
        var previous = Interlocked.Exchange(ref _state, (int)record.State);
        if (previous == (int)record.State)
            return;

        // A new state starts a new streak here too, or failures counted before a close would reopen it at once.
        Interlocked.Exchange(ref _run, 0);
        Interlocked.Exchange(ref _longestRun, 0);
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
