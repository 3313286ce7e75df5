namespace Sagas.PromptAnalyses.Calls;

/// <summary>
/// Lets one delivery of an ask (analysis, platform) at a time work in this process. A duplicate that arrives while the
/// first is still waiting on the provider would otherwise find the row still <c>processing</c> and ask the provider a
/// second time (billed, and only one answer kept); behind the gate it finds the row final and asks nothing. It waits
/// rather than drops, so a first delivery that fails leaves the duplicate to do the work. Deliveries in different
/// processes are not serialised: there the stored rows stay exact and a provider may be asked twice.
/// </summary>
public sealed class PlatformAskGate
{
    private readonly Dictionary<(Guid AnalysisId, string Platform), Entry> _entries = [];

    /// <summary>Deliveries holding or waiting for the gate of (<paramref name="analysisId"/>, <paramref name="platform"/>).</summary>
    public int Occupancy(Guid analysisId, string platform)
    {
        lock (_entries)
            return _entries.TryGetValue((analysisId, platform), out var entry) ? entry.Users : 0;
    }

    public async Task<IDisposable> EnterAsync(Guid analysisId, string platform, CancellationToken cancellationToken)
    {
        var key = (analysisId, platform);
        Entry entry;
        lock (_entries)
        {
            if (!_entries.TryGetValue(key, out entry!))
                _entries[key] = entry = new Entry();
            entry.Users++;
        }

        try
        {
            await entry.Semaphore.WaitAsync(cancellationToken);
        }
        catch
        {
            Leave(key, entry, holding: false);
            throw;
        }

        return new Holder(this, key, entry);
    }

    private void Leave((Guid, string) key, Entry entry, bool holding)
    {
        lock (_entries)
        {
            if (--entry.Users == 0)
                _entries.Remove(key);
        }

        if (holding)
            entry.Semaphore.Release();
    }

    private sealed class Entry
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        public int Users { get; set; }
    }

    private sealed class Holder(PlatformAskGate gate, (Guid, string) key, Entry entry) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                gate.Leave(key, entry, holding: true);
        }
    }
}
