using System.Globalization;

namespace Sagas.ScanSessions.Sources;

/// <summary>
/// Makes file names unique case-insensitively (results are keyed by name and file systems fold case):
/// the second <c>a.pdf</c> becomes <c>a (2).pdf</c>, and so on.
/// </summary>
internal sealed class UniqueNames
{
    private readonly HashSet<string> _taken = new(StringComparer.OrdinalIgnoreCase);

    public string Claim(string name)
    {
        if (_taken.Add(name))
            return name;

        var slash = name.LastIndexOf('/');
        var dot = name.LastIndexOf('.');
        var hasExtension = dot > slash + 1;
        var stem = hasExtension ? name[..dot] : name;
        var extension = hasExtension ? name[dot..] : string.Empty;
        for (var counter = 2; ; counter++)
        {
            var candidate = string.Create(CultureInfo.InvariantCulture, $"{stem} ({counter}){extension}");
            if (_taken.Add(candidate))
                return candidate;
        }
    }
}
