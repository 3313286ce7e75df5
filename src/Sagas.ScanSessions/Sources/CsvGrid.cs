using System.Text;

namespace Sagas.ScanSessions.Sources;

/// <summary>
/// RFC 4180 records (quoted fields, doubled quotes, line breaks inside quotes) with the delimiter guessed from the
/// first line among comma, semicolon and tab. Stops after a row limit so a huge file costs nothing beyond it.
/// </summary>
internal static class CsvGrid
{
    public static IEnumerable<IReadOnlyList<string>> Read(string text, int maxRecords)
    {
        var delimiter = GuessDelimiter(text);
        var record = new List<string>();
        var field = new StringBuilder();
        var inQuotes = false;
        var records = 0;
        var position = 0;
        while (position < text.Length)
        {
            var c = text[position++];
            if (inQuotes)
            {
                if (c != '"')
                    field.Append(c);
                else if (position < text.Length && text[position] == '"')
                {
                    field.Append('"');
                    position++;
                }
                else
                    inQuotes = false;
                continue;
            }

            if (c == '"' && field.Length == 0)
                inQuotes = true;
            else if (c == delimiter)
            {
                record.Add(field.ToString());
                field.Clear();
            }
            else if (c is '\r' or '\n')
            {
                if (c == '\r' && position < text.Length && text[position] == '\n')
                    position++;
                record.Add(field.ToString());
                field.Clear();
                yield return record;
                record = [];
                if (++records >= maxRecords)
                    yield break;
            }
            else
                field.Append(c);
        }

        if (field.Length > 0 || record.Count > 0)
        {
            record.Add(field.ToString());
            yield return record;
        }
    }

    /// <summary>The candidate seen most often over the first lines (a title line may hold stray commas).</summary>
    private static char GuessDelimiter(string text)
    {
        var sample = text.AsSpan(0, Math.Min(text.Length, 64 * 1024));
        var lines = 0;
        var end = 0;
        while (lines < 10 && end < sample.Length)
        {
            var next = sample[end..].IndexOfAny('\r', '\n');
            end = next < 0 ? sample.Length : end + next + 1;
            lines++;
        }

        sample = sample[..end];
        var best = ',';
        var bestCount = 0;
        foreach (var candidate in (ReadOnlySpan<char>)[',', ';', '\t'])
        {
            var count = sample.Count(candidate);
            if (count > bestCount)
            {
                best = candidate;
                bestCount = count;
            }
        }

        return best;
    }
}
