using System.Globalization;

namespace Sagas.Modules.Breakers;

/// <summary>
/// Every transition of a breaker, as a pure function of its stored record, the news and the time: the stores apply it
/// under their lock (a row lock in PostgreSQL), so every process decides the same way.
/// </summary>
public static class BreakerRules
{
    /// <summary>What time alone does: an open breaker half-opens after its break; probes never finished are handed out again.</summary>
    public static (BreakerRecord Record, BreakerTransition? Transition) Advance(BreakerRecord record, BreakerSettings settings, DateTimeOffset now)
    {
        if (record.State == BreakerState.Open && record.OpenUntil is { } until && now >= until)
        {
            var halfOpen = record with { State = BreakerState.HalfOpen, HalfOpenedAt = now, ProbesClaimed = 0, ProbesSucceeded = 0, UpdatedAt = now };
            return (halfOpen, new BreakerTransition(record.Key, BreakerState.Open, BreakerState.HalfOpen, "break duration over", now));
        }

        // A probe whose process died (or was cancelled) never reports: after a break duration its claim lapses.
        if (record.State == BreakerState.HalfOpen && record.ProbesClaimed > record.ProbesSucceeded
            && record.HalfOpenedAt is { } since && now >= since + settings.BreakDuration)
            return (record with { ProbesClaimed = record.ProbesSucceeded, HalfOpenedAt = now, UpdatedAt = now }, null);

        return (record, null);
    }

    /// <summary>Adds one process's outcomes and opens a closed breaker when a rule says so.</summary>
    public static (BreakerRecord Record, BreakerTransition? Transition) Apply(BreakerRecord record, BreakerReport report, BreakerSettings settings, DateTimeOffset now)
    {
        var (current, transition) = Advance(record, settings, now);
        if (current.WindowStartedAt + settings.SamplingWindow <= now)
            current = current with { WindowStartedAt = now, WindowCalls = 0, WindowFailures = 0 };

        var calls = report.Successes + report.Failures;
        var longest = report.SawSuccess ? Math.Max(report.LongestRun, report.TrailingRun) : current.ConsecutiveFailures + report.Failures;
        current = current with
        {
            TotalCalls = current.TotalCalls + calls,
            TotalFailures = current.TotalFailures + report.Failures,
            WindowCalls = current.WindowCalls + calls,
            WindowFailures = current.WindowFailures + report.Failures,
            ConsecutiveFailures = report.SawSuccess ? report.TrailingRun : current.ConsecutiveFailures + report.Failures,
            UpdatedAt = now,
        };

        // Only a closed breaker opens on outcomes: calls that were in flight when it opened change nothing, and a
        // half-open breaker listens to its probes alone.
        if (current.State != BreakerState.Closed)
            return (current, transition);

        string? reason = null;
        if (settings.ConsecutiveFailures > 0 && longest >= settings.ConsecutiveFailures)
            reason = string.Create(CultureInfo.InvariantCulture, $"{longest} consecutive failures");
        else if (settings.FailureRatio > 0 && current.WindowCalls >= settings.MinimumCalls
            && (double)current.WindowFailures / current.WindowCalls >= settings.FailureRatio)
            reason = string.Create(CultureInfo.InvariantCulture, $"{current.WindowFailures} of {current.WindowCalls} calls failed");

        return reason is null ? (current, transition) : Open(current, settings, now, reason);
    }

    /// <summary>Hands out one of the half-open breaker's probes, if one is left.</summary>
    public static (BreakerRecord Record, BreakerTransition? Transition, bool Claimed) ClaimProbe(BreakerRecord record, BreakerSettings settings, DateTimeOffset now)
    {
        var (current, transition) = Advance(record, settings, now);
        if (current.State != BreakerState.HalfOpen || current.ProbesClaimed >= settings.ProbeCount)
            return (current, transition, false);
        return (current with { ProbesClaimed = current.ProbesClaimed + 1, UpdatedAt = now }, transition, true);
    }

    /// <summary>A probe's end: all probes succeeding close the breaker, one failing opens it again.</summary>
    public static (BreakerRecord Record, BreakerTransition? Transition) CompleteProbe(BreakerRecord record, bool succeeded, BreakerSettings settings, DateTimeOffset now)
    {
        // A reset or a lapsed claim may have moved on since the probe was handed out: its news is counted, not acted on.
        var counted = record with
        {
            TotalCalls = record.TotalCalls + 1,
            TotalFailures = record.TotalFailures + (succeeded ? 0 : 1),
            UpdatedAt = now,
        };
        if (record.State != BreakerState.HalfOpen)
            return (counted, null);
        if (!succeeded)
            return Open(counted, settings, now, "probe failed");

        var done = counted.ProbesSucceeded + 1;
        if (done < settings.ProbeCount)
            return (counted with { ProbesSucceeded = done }, null);
        return Close(counted, now, string.Create(CultureInfo.InvariantCulture, $"{done} probe(s) succeeded"));
    }

    /// <summary>An operator's reset: closed, with its streak and window forgotten.</summary>
    public static (BreakerRecord Record, BreakerTransition? Transition) Reset(BreakerRecord record, DateTimeOffset now) =>
        record.State == BreakerState.Closed
            ? (record with { ConsecutiveFailures = 0, WindowStartedAt = now, WindowCalls = 0, WindowFailures = 0, UpdatedAt = now }, null)
            : Close(record, now, "reset by an operator");

    private static (BreakerRecord, BreakerTransition) Open(BreakerRecord record, BreakerSettings settings, DateTimeOffset now, string reason) =>
        (record with
        {
            State = BreakerState.Open,
            OpenedAt = now,
            OpenUntil = now + settings.BreakDuration,
            HalfOpenedAt = null,
            ProbesClaimed = 0,
            ProbesSucceeded = 0,
            ConsecutiveFailures = 0,
            WindowStartedAt = now,
            WindowCalls = 0,
            WindowFailures = 0,
            UpdatedAt = now,
        }, new BreakerTransition(record.Key, record.State, BreakerState.Open, reason, now));

    private static (BreakerRecord, BreakerTransition) Close(BreakerRecord record, DateTimeOffset now, string reason) =>
        (record with
        {
            State = BreakerState.Closed,
            OpenUntil = null,
            HalfOpenedAt = null,
            ProbesClaimed = 0,
            ProbesSucceeded = 0,
            ConsecutiveFailures = 0,
            WindowStartedAt = now,
            WindowCalls = 0,
            WindowFailures = 0,
            UpdatedAt = now,
        }, new BreakerTransition(record.Key, record.State, BreakerState.Closed, reason, now));
}
