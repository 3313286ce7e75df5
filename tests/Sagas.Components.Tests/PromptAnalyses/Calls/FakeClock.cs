namespace Sagas.Components.Tests.PromptAnalyses.Calls;

/// <summary>
/// A clock with timers that only move when the test says so: <see cref="RunAsync{T}"/> jumps straight to the next due
/// timer whenever the code under test is waiting on one, so minutes of backoff and spacing take no real time.
/// </summary>
public sealed class FakeClock(DateTimeOffset start) : TimeProvider
{
    private readonly List<FakeTimer> _timers = [];
    private DateTimeOffset _now = start;

    public DateTimeOffset Start { get; } = start;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_timers)
            return _now;
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public TimeSpan Elapsed => GetUtcNow() - Start;

    /// <summary>How much later than due every timer fires: a process starved of CPU.</summary>
    public TimeSpan Oversleep { get; set; }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new FakeTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>
    /// Completes <paramref name="work"/> by advancing to each timer it waits on. Fails when it neither completes nor
    /// waits on a timer within a few real seconds (a hang, not a slow machine).
    /// </summary>
    public async Task<T> RunAsync<T>(Task<T> work)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!work.IsCompleted)
        {
            if (!FireNext())
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException("The work neither completed nor waited on a timer.");
                await Task.Yield();
            }
        }

        return await work;
    }

    /// <summary>Moves the clock to the earliest pending timer and fires it; false when none is pending.</summary>
    private bool FireNext()
    {
        FakeTimer? next;
        lock (_timers)
        {
            next = _timers.Where(t => t.DueAt is not null).MinBy(t => t.DueAt);
            if (next is null)
                return false;
            if (next.DueAt + Oversleep > _now)
                _now = next.DueAt!.Value + Oversleep;
            next.DueAt = next.Period > TimeSpan.Zero ? _now + next.Period : null;
        }

        next.Fire();
        return true;
    }

    private sealed class FakeTimer(FakeClock clock, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? DueAt { get; set; }

        public TimeSpan Period { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._timers)
            {
                Period = period == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : period;
                DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : clock._now + dueTime;
                if (!clock._timers.Contains(this))
                    clock._timers.Add(this);
            }

            return true;
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (clock._timers)
                clock._timers.Remove(this);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
