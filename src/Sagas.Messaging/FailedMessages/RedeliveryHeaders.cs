using System.Globalization;
using System.Text.Json;

namespace Sagas.Messaging.FailedMessages;

/// <summary>
/// Which transport headers a failed message keeps for its redelivery. An allow-list, not a deny-list: only MassTransit's
/// own <c>MT-*</c> headers (the envelope carries the rest), minus the ones that describe the failure or the failing
/// host and would be wrong on the redelivered copy. Anything else a sender set, an authorisation header for one, is
/// never stored.
/// </summary>
public static class RedeliveryHeaders
{
    private static readonly string[] DroppedPrefixes = ["MT-Fault-", "MT-Reason", "MT-Redelivery-", "MT-Host-"];

    public static bool Keeps(string name) =>
        name.StartsWith("MT-", StringComparison.OrdinalIgnoreCase)
        && !DroppedPrefixes.Any(prefix => name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase));

    public static string Select(IEnumerable<KeyValuePair<string, object>> transportHeaders)
    {
        var kept = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in transportHeaders)
        {
            if (Keeps(name) && Text(value) is { } text)
                kept[name] = text;
        }

        return JsonSerializer.Serialize(kept);
    }

    public static IReadOnlyDictionary<string, string> Read(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];

    private static string? Text(object? value) => value switch
    {
        null => null,
        string text => text,
        byte[] bytes => global::System.Text.Encoding.UTF8.GetString(bytes),
        DateTime time => time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
        DateTimeOffset time => time.ToString("O", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => null,
    };
}
