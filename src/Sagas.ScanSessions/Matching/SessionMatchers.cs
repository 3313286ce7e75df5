using System.Collections.Concurrent;
using Sagas.ScanSessions.Sources;

namespace Sagas.ScanSessions.Matching;

/// <summary>
/// The matchers of the sessions a file worker is scanning, built once per session instead of once per batch: a
/// 6,600-file session arrives in about a hundred batches per worker, and each build allocates a 128 KiB character
/// table (large-object heap) and an automaton over every code. A session's codes never change once it is scanning;
/// the codes' JSON is kept beside the matchers all the same, so a different list can never reuse a stale automaton.
/// </summary>
public sealed class SessionMatchers
{
    /// <summary>Sessions kept at once; a worker scans few sessions at a time, and a rebuild is only a little work.</summary>
    internal const int MaxSessions = 32;

    private readonly ConcurrentDictionary<Guid, Entry> _sessions = new();

    /// <summary>Matchers built since start (for tests and diagnostics).</summary>
    public int Built => Volatile.Read(ref _built);

    private int _built;

    /// <summary>The session's matcher and its OCR-folding twin, for the codes stored as <paramref name="codesJson"/>.</summary>
    public (HoleCodeMatcher Text, HoleCodeMatcher Ocr) For(Guid sessionId, string codesJson)
    {
        if (_sessions.TryGetValue(sessionId, out var known) && known.CodesJson == codesJson)
            return (known.Text, known.Ocr);

        var codes = ScanSessionJson.Read(codesJson);
        var entry = new Entry(codesJson, HoleCodeMatcher.Create(codes), HoleCodeMatcher.CreateForOcr(codes));
        Interlocked.Add(ref _built, 2);
        // Finished sessions are never announced to the workers: past the bound, everything goes and live sessions rebuild once.
        if (_sessions.Count >= MaxSessions)
            _sessions.Clear();
        _sessions[sessionId] = entry;
        return (entry.Text, entry.Ocr);
    }

    private sealed record Entry(string CodesJson, HoleCodeMatcher Text, HoleCodeMatcher Ocr);
}
