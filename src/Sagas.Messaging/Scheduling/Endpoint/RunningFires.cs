namespace Sagas.Messaging.Scheduling.Endpoint;

/// <summary>
/// How many scheduled-message fires this process is running: the scheduler's lifecycle keeps the bus up until they
/// have sent, since a fire ahead of its due time may still be waiting when the process stops.
/// </summary>
public sealed class RunningFires
{
    private int _running;

    public int Running => Volatile.Read(ref _running);

    public IDisposable Enter()
    {
        Interlocked.Increment(ref _running);
        return new Exit(this);
    }

    private sealed class Exit(RunningFires fires) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
                Interlocked.Decrement(ref fires._running);
        }
    }
}
