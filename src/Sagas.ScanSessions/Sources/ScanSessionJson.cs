using System.Text.Json;

namespace Sagas.ScanSessions.Sources;

internal static class ScanSessionJson
{
    public static string Write(IEnumerable<string> values) => JsonSerializer.Serialize(values.ToArray());

    public static IReadOnlyList<string> Read(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<string[]>(json) ?? [];
}
