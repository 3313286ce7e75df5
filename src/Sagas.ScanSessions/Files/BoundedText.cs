using System.Text;

namespace Sagas.ScanSessions.Files;

/// <summary>A StringBuilder that stops growing at a limit and remembers that it did.</summary>
internal sealed class BoundedText(int maxCharacters)
{
    private readonly StringBuilder _builder = new();

    public bool Truncated { get; private set; }

    public int Length => _builder.Length;

    /// <returns>false once text had to be cut, so callers can stop reading.</returns>
    public bool Append(ReadOnlySpan<char> text)
    {
        var room = maxCharacters - _builder.Length;
        if (text.Length > room)
        {
            _builder.Append(text[..Math.Max(room, 0)]);
            Truncated = true;
            return false;
        }

        _builder.Append(text);
        return true;
    }

    public bool Append(char c) => Append([c]);

    /// <summary>Separates two pieces of text so that their ends never fuse into one token.</summary>
    public bool Separate(char separator = '\n') => _builder.Length == 0 || Append(separator);

    public override string ToString() => _builder.ToString();
}
