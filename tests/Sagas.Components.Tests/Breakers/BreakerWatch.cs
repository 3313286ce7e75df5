using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Sagas.Components.Tests.Breakers;

/// <summary>
/// Counts what the breakers report on the <c>Sagas</c> meter (calls turned away, transitions) for one provider and
/// model, so an end-to-end spec can wait until an open breaker really turned calls away instead of sleeping. The meter
/// is process-wide: specs that use it name a provider and model no other spec in the same run breaks.
/// </summary>
public sealed class BreakerWatch : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public BreakerWatch()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Sagas" && instrument.Name is "sagas.breaker.rejected" or "sagas.breaker.transitions")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? provider = null, model = null, to = null;
            foreach (var tag in tags)
            {
                switch (tag.Key)
                {
                    case "provider": provider = tag.Value as string; break;
                    case "model": model = tag.Value as string; break;
                    case "to": to = tag.Value as string; break;
                }
            }

            var key = instrument.Name == "sagas.breaker.rejected" ? $"rejected|{provider}|{model}" : $"to:{to}|{provider}|{model}";
            _counts.AddOrUpdate(key, value, (_, sum) => sum + value);
        });
        _listener.Start();
    }

    /// <summary>Calls the breaker of <paramref name="provider"/> and <paramref name="model"/> turned away ("" for the provider's own).</summary>
    public long Rejected(string provider, string model) => _counts.GetValueOrDefault($"rejected|{provider}|{model}");

    /// <summary>Transitions into <paramref name="state"/> (closed, open, half_open) counted in this process.</summary>
    public long TransitionsTo(string state, string provider, string model) => _counts.GetValueOrDefault($"to:{state}|{provider}|{model}");

    /// <summary>Waits, checking every 50 ms, until <paramref name="condition"/> holds; fails naming <paramref name="what"/>.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Waited {timeout} for {what()}.");
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }

    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> what) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, what);

    public void Dispose() => _listener.Dispose();
}
