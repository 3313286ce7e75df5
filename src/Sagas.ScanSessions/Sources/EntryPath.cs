using System.Text;

namespace Sagas.ScanSessions.Sources;

/// <summary>
/// Decides whether a ZIP entry name stays inside the archive's folder and gives the name to show. Nothing is ever
/// written to disk under these names, but names end up in reports and in other tools' hands, so an entry that
/// could escape a folder when extracted is refused rather than repaired.
/// </summary>
public static class EntryPath
{
    public const int MaxLength = 1024;

    /// <summary>
    /// Refused: absolute paths (<c>/x</c>, <c>\x</c>, <c>//server</c>), drive letters and colons (<c>C:x</c>,
    /// alternate data streams), <c>..</c> segments (also written with backslashes or as dots and spaces, which
    /// Windows trims to <c>..</c>), control characters, and names over <see cref="MaxLength"/> characters.
    /// Backslashes count as separators; empty and <c>.</c> segments are dropped.
    /// </summary>
    public static bool TryNormalize(string rawName, out string path)
    {
        path = string.Empty;
        if (string.IsNullOrEmpty(rawName) || rawName.Length > MaxLength)
            return false;

        foreach (var c in rawName)
        {
            if (char.IsControl(c) || c == ':')
                return false;
        }

        var unified = rawName.Replace('\\', '/');
        if (unified.StartsWith('/'))
            return false;

        var segments = new List<string>();
        foreach (var segment in unified.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
                continue;
            if (segment.AsSpan().Trim(" .").IsEmpty)
                return false;
            segments.Add(segment);
        }

        if (segments.Count == 0)
            return false;

        path = string.Join('/', segments);
        return true;
    }

    /// <summary>A printable rendering of a refused name for messages and reports.</summary>
    public static string Printable(string rawName)
    {
        var builder = new StringBuilder(Math.Min(rawName.Length, 255));
        foreach (var c in rawName)
        {
            if (builder.Length == 255)
                break;
            builder.Append(char.IsControl(c) || char.IsSurrogate(c) ? '?' : c);
        }

        return builder.Length == 0 ? "(unnamed)" : builder.ToString();
    }

    /// <summary>True for the folders and files operating systems add to archives without the user meaning them.</summary>
    public static bool IsSystemClutter(string path)
    {
        var name = path[(path.LastIndexOf('/') + 1)..];
        return path.StartsWith("__MACOSX/", StringComparison.OrdinalIgnoreCase)
               || name.StartsWith("._", StringComparison.Ordinal)
               || name.Equals(".DS_Store", StringComparison.OrdinalIgnoreCase)
               || name.Equals("Thumbs.db", StringComparison.OrdinalIgnoreCase)
               || name.Equals("desktop.ini", StringComparison.OrdinalIgnoreCase);
    }
}
