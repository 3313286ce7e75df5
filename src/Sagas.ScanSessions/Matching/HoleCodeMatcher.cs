using System.Buffers;
using System.Text;

namespace Sagas.ScanSessions.Matching;

/// <summary>
/// Finds which of a session's target hole codes occur in a text, case-insensitively and as whole tokens.
/// Built once per session (an Aho–Corasick automaton over the normalised codes) and then shared by every file
/// of the session from any thread: scanning is one pass over the text whatever the number of codes.
/// </summary>
/// <remarks>
/// Token rule (see docs/scan-files.md): an occurrence counts unless a letter or digit continues it on either side,
/// either directly (<c>HOLE-12</c>, <c>XHOLE-1</c>) or through one connector character <c>- _ . /</c>
/// (<c>HOLE-1-A</c>, <c>HOLE-1.5</c>, <c>DWG/HOLE-1</c>). A connector followed by anything else is punctuation:
/// <c>HOLE-1.</c> at the end of a sentence matches. The check only applies on a side where the code itself ends
/// in a letter, digit or connector, so a code such as <c>(A)</c> is delimited by its own brackets.
/// </remarks>
public sealed class HoleCodeMatcher
{
    /// <summary>Above this many cells (states × alphabet) the automaton keeps sparse transitions instead of a full table.</summary>
    internal const long DenseTableCellLimit = 4_000_000;

    private readonly string[] _codes;

    // The automaton searches patterns; a pattern stands for one code, or for several when OCR folding makes them equal.
    private readonly int[][] _codesOfPattern;
    private readonly bool _ocr;
    private readonly int[] _codeLengths;
    private readonly bool[] _checkBefore;
    private readonly bool[] _checkAfter;

    // Symbol 0 stands for every character that appears in no code: it always sends the automaton back to the root.
    private readonly ushort[] _symbolOfChar;
    private readonly int _alphabetSize;

    private readonly int[] _failure;
    private readonly int[] _codeEndingAt;
    private readonly int[] _nextOutput;
    private readonly int[]? _denseTransitions;
    private readonly Dictionary<long, int> _sparseTransitions;

    private HoleCodeMatcher(string[] codes, string[] normalized, bool forceSparse, bool ocr)
    {
        _codes = codes;
        _ocr = ocr;
        if (ocr)
        {
            var folded = normalized.Select(code => HoleCodeText.NormalizeOcrCode(code)).ToArray();
            var patterns = folded.Distinct(StringComparer.Ordinal).ToArray();
            _codesOfPattern = [.. patterns.Select(pattern => Enumerable.Range(0, folded.Length).Where(i => folded[i] == pattern).ToArray())];
            normalized = patterns;
        }
        else
        {
            _codesOfPattern = [.. Enumerable.Range(0, codes.Length).Select(i => new[] { i })];
        }

        _codeLengths = new int[normalized.Length];
        _checkBefore = new bool[normalized.Length];
        _checkAfter = new bool[normalized.Length];

        _symbolOfChar = new ushort[char.MaxValue + 1];
        var alphabet = 1;
        foreach (var code in normalized)
        {
            foreach (var c in code)
            {
                if (_symbolOfChar[c] == 0)
                    _symbolOfChar[c] = checked((ushort)alphabet++);
            }
        }

        _alphabetSize = alphabet;

        var childOf = new Dictionary<long, int>();
        var codeEndingAt = new List<int> { -1 };
        for (var index = 0; index < normalized.Length; index++)
        {
            var code = normalized[index];
            _codeLengths[index] = code.Length;
            _checkBefore[index] = NeedsBoundary(code, atStart: true);
            _checkAfter[index] = NeedsBoundary(code, atStart: false);

            var state = 0;
            foreach (var c in code)
            {
                var key = Key(state, _symbolOfChar[c]);
                if (!childOf.TryGetValue(key, out var next))
                {
                    next = codeEndingAt.Count;
                    codeEndingAt.Add(-1);
                    childOf.Add(key, next);
                }

                state = next;
            }

            codeEndingAt[state] = index;
        }

        var stateCount = codeEndingAt.Count;
        _codeEndingAt = [.. codeEndingAt];
        _failure = new int[stateCount];
        _nextOutput = new int[stateCount];
        _nextOutput[0] = -1;

        var children = new List<(int Symbol, int Child)>[stateCount];
        foreach (var (key, child) in childOf)
        {
            var parent = (int)(key / _alphabetSize);
            (children[parent] ??= []).Add(((int)(key % _alphabetSize), child));
        }

        // Breadth-first, so every failure target is finished before the states that point to it.
        var queue = new Queue<int>();
        foreach (var (_, child) in children[0] ?? [])
        {
            _failure[child] = 0;
            _nextOutput[child] = -1;
            queue.Enqueue(child);
        }

        while (queue.Count > 0)
        {
            var state = queue.Dequeue();
            foreach (var (symbol, child) in children[state] ?? [])
            {
                var fallback = _failure[state];
                int target;
                while (!childOf.TryGetValue(Key(fallback, symbol), out target) && fallback != 0)
                    fallback = _failure[fallback];

                _failure[child] = target == child ? 0 : target;
                var failureState = _failure[child];
                _nextOutput[child] = _codeEndingAt[failureState] >= 0 ? failureState : _nextOutput[failureState];
                queue.Enqueue(child);
            }
        }

        _sparseTransitions = childOf;
        if (!forceSparse && (long)stateCount * _alphabetSize <= DenseTableCellLimit)
            _denseTransitions = BuildDenseTable(stateCount, children);
    }

    /// <summary>Distinct codes after normalisation, in target-list order, spelled as first given.</summary>
    public IReadOnlyList<string> Codes => _codes;

    /// <summary>Whether this matcher folds OCR confusions (see <see cref="CreateForOcr"/>).</summary>
    public bool ToleratesOcr => _ocr;

    /// <summary>Whether scanning uses the full transition table (true for all but huge code lists).</summary>
    internal bool UsesDenseTable => _denseTransitions is not null;

    /// <summary>
    /// Builds a matcher. Blank codes are ignored; codes equal after normalisation (case, spacing, dashes) are kept
    /// once, with the first spelling. Throws <see cref="ArgumentException"/> when no usable code remains or a limit
    /// is exceeded; <see cref="HoleCodeList.Validate"/> gives the same verdict without throwing.
    /// </summary>
    public static HoleCodeMatcher Create(IEnumerable<string?> codes, HoleCodeLimits? limits = null) =>
        Create(codes, limits ?? HoleCodeLimits.Default, forceSparse: false);

    /// <summary>
    /// A matcher for OCR text: besides the usual normalisation, the characters OCR confuses are folded together
    /// (<c>O</c>/<c>0</c>, <c>I</c>/<c>L</c>/<c>1</c>, <c>S</c>/<c>5</c>) and spaces
    /// next to a hyphen are dropped (<c>HOLE - 12</c> reads as <c>HOLE-12</c>), in codes and text alike. The whole-token
    /// rule is unchanged. Codes that fold to the same text are all reported when it is found.
    /// </summary>
    public static HoleCodeMatcher CreateForOcr(IEnumerable<string?> codes, HoleCodeLimits? limits = null) =>
        Create(codes, limits ?? HoleCodeLimits.Default, forceSparse: false, ocr: true);

    internal static HoleCodeMatcher Create(IEnumerable<string?> codes, HoleCodeLimits limits, bool forceSparse, bool ocr = false)
    {
        ArgumentNullException.ThrowIfNull(codes);
        var list = HoleCodeList.Prepare(codes, limits, out var error);
        if (error is not null)
            throw new ArgumentException(error, nameof(codes));

        return new HoleCodeMatcher(
            [.. list.Select(entry => entry.Original)],
            [.. list.Select(entry => entry.Normalized)],
            forceSparse,
            ocr);
    }

    public HoleCodeMatch Match(string? text) => Match(text.AsSpan());

    public HoleCodeMatch Match(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
            return HoleCodeMatch.None;

        var rented = ArrayPool<char>.Shared.Rent(text.Length + 1);
        try
        {
            var length = _ocr ? HoleCodeText.NormalizeOcr(text, rented) : HoleCodeText.Normalize(text, rented);
            return Scan(rented.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    private HoleCodeMatch Scan(ReadOnlySpan<char> text)
    {
        var found = new bool[_codesOfPattern.Length];
        var remaining = found.Length;
        var state = 0;
        for (var position = 0; position < text.Length; position++)
        {
            var symbol = _symbolOfChar[text[position]];
            if (symbol == 0)
            {
                state = 0;
                continue;
            }

            state = Step(state, symbol);
            var output = _codeEndingAt[state] >= 0 ? state : _nextOutput[state];
            while (output >= 0)
            {
                var code = _codeEndingAt[output];
                if (!found[code] && IsWholeToken(text, position + 1 - _codeLengths[code], position + 1, code))
                {
                    found[code] = true;
                    if (--remaining == 0)
                        return Collect(found);
                }

                output = _nextOutput[output];
            }
        }

        return remaining == found.Length ? HoleCodeMatch.None : Collect(found);
    }

    private int Step(int state, int symbol)
    {
        if (_denseTransitions is not null)
            return _denseTransitions[(state * _alphabetSize) + symbol];

        while (true)
        {
            if (_sparseTransitions.TryGetValue(Key(state, symbol), out var next))
                return next;
            if (state == 0)
                return 0;
            state = _failure[state];
        }
    }

    private bool IsWholeToken(ReadOnlySpan<char> text, int start, int end, int code)
    {
        if (_checkBefore[code] && Rune.DecodeLastFromUtf16(text[..start], out var before, out var beforeLength) == OperationStatus.Done)
        {
            if (HoleCodeText.IsTokenRune(before))
                return false;
            if (HoleCodeText.IsConnector(before)
                && Rune.DecodeLastFromUtf16(text[..(start - beforeLength)], out var beyond, out _) == OperationStatus.Done
                && HoleCodeText.IsTokenRune(beyond))
            {
                return false;
            }
        }

        if (_checkAfter[code] && Rune.DecodeFromUtf16(text[end..], out var after, out var afterLength) == OperationStatus.Done)
        {
            if (HoleCodeText.IsTokenRune(after))
                return false;
            if (HoleCodeText.IsConnector(after)
                && Rune.DecodeFromUtf16(text[(end + afterLength)..], out var beyond, out _) == OperationStatus.Done
                && HoleCodeText.IsTokenRune(beyond))
            {
                return false;
            }
        }

        return true;
    }

    private HoleCodeMatch Collect(bool[] found)
    {
        var indexes = new List<int>();
        for (var pattern = 0; pattern < found.Length; pattern++)
        {
            if (found[pattern])
                indexes.AddRange(_codesOfPattern[pattern]);
        }

        indexes.Sort();
        return new HoleCodeMatch([.. indexes.Select(index => _codes[index])]);
    }

    private int[] BuildDenseTable(int stateCount, List<(int Symbol, int Child)>[] children)
    {
        var table = new int[stateCount * _alphabetSize];
        var queue = new Queue<int>();
        queue.Enqueue(0);
        while (queue.Count > 0)
        {
            var state = queue.Dequeue();
            var row = state * _alphabetSize;
            var failureRow = _failure[state] * _alphabetSize;
            for (var symbol = 1; symbol < _alphabetSize; symbol++)
                table[row + symbol] = state == 0 ? 0 : table[failureRow + symbol];

            foreach (var (symbol, child) in children[state] ?? [])
            {
                table[row + symbol] = child;
                queue.Enqueue(child);
            }
        }

        return table;
    }

    private static bool NeedsBoundary(string normalizedCode, bool atStart)
    {
        var status = atStart
            ? Rune.DecodeFromUtf16(normalizedCode, out var edge, out _)
            : Rune.DecodeLastFromUtf16(normalizedCode, out edge, out _);
        return status == OperationStatus.Done && (HoleCodeText.IsTokenRune(edge) || HoleCodeText.IsConnector(edge));
    }

    private long Key(int state, int symbol) => ((long)state * _alphabetSize) + symbol;
}
