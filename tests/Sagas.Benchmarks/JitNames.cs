using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Sagas.Benchmarks;

/// <summary>
/// Counts the methods the runtime compiles, by namespace and type, since the last <see cref="Start"/> or <see cref="Top"/>:
/// which code keeps the JIT busy in a window that should be warm (the runtime's own JIT events, read in process).
/// </summary>
public sealed class JitNames : EventListener
{
    private const EventKeywords JitKeyword = (EventKeywords)0x10;
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    private volatile bool _recording;

    /// <summary>Forgets what was counted so far and counts from now on.</summary>
    public void Start()
    {
        _counts.Clear();
        _recording = true;
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(eventSource, EventLevel.Verbose, JitKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventName is not "MethodJittingStarted_V1" || eventData.PayloadNames is null)
            return;
        var ns = eventData.PayloadNames.IndexOf("MethodNamespace") is var i and >= 0 ? eventData.Payload![i] as string : null;
        var name = eventData.PayloadNames.IndexOf("MethodName") is var j and >= 0 ? eventData.Payload![j] as string : null;
        // Dynamic methods (expression trees compiled at run time) share one namespace; their names tell them apart.
        var key = ns == "dynamicClass" ? $"dynamicClass {Prefix(name)}" : Shorten(ns ?? "?");
        _counts.AddOrUpdate(key, 1, (_, n) => n + 1);
    }

    public string Top(int count)
    {
        var snapshot = _counts.ToArray();
        _counts.Clear();
        return string.Join(Environment.NewLine, snapshot.OrderByDescending(p => p.Value).Take(count).Select(p => $"    {p.Value,6}  {p.Key}"));
    }

    private static string Prefix(string? name) => name is null ? "?" : new string(name.TakeWhile(c => !char.IsDigit(c)).ToArray());

    // Generic instantiations name every argument; the type itself is what tells the code apart.
    private static string Shorten(string ns) => ns.IndexOf('[') is var k and > 0 ? ns[..k] : ns;
}
