using System.Globalization;

namespace Sagas.ScanSessions.Matching;

/// <summary>Bounds on a session's target code list.</summary>
public sealed record HoleCodeLimits(int MaxCodes, int MaxCodeLength)
{
    public static HoleCodeLimits Default { get; } = new(20_000, 200);
}

/// <summary>Validation and de-duplication of a target code list, shared by the API (400 answers) and the matcher.</summary>
public static class HoleCodeList
{
    /// <summary>The error text for an unusable list, or null when a matcher can be built from it.</summary>
    public static string? Validate(IEnumerable<string?>? codes, HoleCodeLimits? limits = null)
    {
        if (codes is null)
            return EmptyListError;

        Prepare(codes, limits ?? HoleCodeLimits.Default, out var error);
        return error;
    }

    /// <summary>The distinct codes a matcher would search for, spelled as first given, in list order.</summary>
    public static IReadOnlyList<string> Distinct(IEnumerable<string?> codes, HoleCodeLimits? limits = null)
    {
        var prepared = Prepare(codes, limits ?? HoleCodeLimits.Default, out var error);
        if (error is not null)
            throw new ArgumentException(error, nameof(codes));
        return [.. prepared.Select(entry => entry.Original)];
    }

    public const string EmptyListError = "The hole code list is empty: give at least one non-blank code.";

    internal static List<(string Original, string Normalized)> Prepare(IEnumerable<string?> codes, HoleCodeLimits limits, out string? error)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<(string, string)>();
        var position = 0;
        foreach (var code in codes)
        {
            position++;
            if (string.IsNullOrWhiteSpace(code))
                continue;

            var trimmed = code.Trim();
            if (trimmed.Length > limits.MaxCodeLength)
            {
                error = string.Create(
                    CultureInfo.InvariantCulture,
                    $"Hole code #{position} is {trimmed.Length} characters long; the limit is {limits.MaxCodeLength}.");
                return result;
            }

            var normalized = HoleCodeText.NormalizeCode(trimmed);
            if (normalized.Length == 0 || !seen.Add(normalized))
                continue;

            if (result.Count == limits.MaxCodes)
            {
                error = string.Create(
                    CultureInfo.InvariantCulture,
                    $"The hole code list has more than {limits.MaxCodes} distinct codes.");
                return result;
            }

            result.Add((trimmed, normalized));
        }

        error = result.Count == 0 ? EmptyListError : null;
        return result;
    }
}
