using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sagas.Modules.Assistant;

/// <summary>
/// A time range the tools filter on (creation time, UTC). Tools take <c>period</c> (a named range) and optional
/// <c>from</c>/<c>to</c> dates that override it; <see cref="All"/> means no filter.
/// </summary>
public sealed partial record AssistantPeriod(string Label, DateTimeOffset? From, DateTimeOffset? To, string? Name = null)
{
    public static readonly string[] Names = ["all", "today", "last_24_hours", "last_7_days", "last_30_days", "this_month"];

    public static AssistantPeriod All { get; } = new("all time", null, null, "all");

    /// <summary>The JSON schema fragment every period-taking tool shares.</summary>
    public const string SchemaProperties =
        """
        "period": { "type": "string", "enum": ["all", "today", "last_24_hours", "last_7_days", "last_30_days", "this_month"], "description": "Named time range, by creation time (UTC)." },
        "from": { "type": ["string", "null"], "description": "Start date (inclusive), yyyy-MM-dd; overrides period when given." },
        "to": { "type": ["string", "null"], "description": "End date (exclusive), yyyy-MM-dd; overrides period when given." }
        """;

    public static AssistantPeriod Named(string? name, DateTimeOffset now)
    {
        var today = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        return (name ?? "all") switch
        {
            "all" => All,
            "today" => new("today", today, null, "today"),
            "last_24_hours" => new("the last 24 hours", now.AddHours(-24), null, "last_24_hours"),
            "last_7_days" => new("the last 7 days", now.AddDays(-7), null, "last_7_days"),
            "last_30_days" => new("the last 30 days", now.AddDays(-30), null, "last_30_days"),
            "this_month" => new("this month", new DateTimeOffset(today.Year, today.Month, 1, 0, 0, 0, TimeSpan.Zero), null, "this_month"),
            var other => throw new AssistantToolArgumentException($"Unknown period '{other}'; one of: {string.Join(", ", Names)}."),
        };
    }

    /// <summary>Reads <c>period</c>, <c>from</c> and <c>to</c> from a tool's arguments.</summary>
    public static AssistantPeriod Read(JsonElement arguments, DateTimeOffset now)
    {
        var from = ReadDate(arguments, "from");
        var to = ReadDate(arguments, "to");
        if (from is null && to is null)
            return Named(ReadString(arguments, "period"), now);
        if (from is { } f && to is { } t && t <= f)
            throw new AssistantToolArgumentException("'to' must be after 'from'.");
        var label = (from, to) switch
        {
            ({ } a, { } b) => $"{a:yyyy-MM-dd} to {b.AddDays(-1):yyyy-MM-dd}",
            ({ } a, null) => $"since {a:yyyy-MM-dd}",
            _ => $"before {to:yyyy-MM-dd}",
        };
        return new AssistantPeriod(label, from, to);
    }

    /// <summary>The simulated assistant's reading of a prompt: a month ("January 2026"), else a named range.</summary>
    public static AssistantPeriod FromPrompt(string prompt, DateTimeOffset now)
    {
        var text = prompt.ToLowerInvariant();
        var month = MonthPattern().Match(text);
        if (month.Success)
        {
            var number = DateTime.ParseExact(month.Groups["month"].Value[..3], "MMM", CultureInfo.InvariantCulture).Month;
            var year = month.Groups["year"].Success ? int.Parse(month.Groups["year"].Value, CultureInfo.InvariantCulture) : now.Year;
            var start = new DateTimeOffset(year, number, 1, 0, 0, 0, TimeSpan.Zero);
            return new AssistantPeriod(start.ToString("MMMM yyyy", CultureInfo.InvariantCulture), start, start.AddMonths(1));
        }

        if (text.Contains("today", StringComparison.Ordinal))
            return Named("today", now);
        if (text.Contains("24 hours", StringComparison.Ordinal) || text.Contains("yesterday", StringComparison.Ordinal))
            return Named("last_24_hours", now);
        if (text.Contains("week", StringComparison.Ordinal) || text.Contains("7 days", StringComparison.Ordinal))
            return Named("last_7_days", now);
        if (text.Contains("this month", StringComparison.Ordinal))
            return Named("this_month", now);
        if (text.Contains("month", StringComparison.Ordinal) || text.Contains("30 days", StringComparison.Ordinal))
            return Named("last_30_days", now);
        return All;
    }

    /// <summary>The arguments a tool would receive for this period.</summary>
    public Dictionary<string, object?> ToArguments() => new()
    {
        ["period"] = Name ?? "all",
        ["from"] = Name is null ? From?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : null,
        ["to"] = Name is null ? To?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : null,
    };

    public static string? ReadString(JsonElement arguments, string name) =>
        arguments.ValueKind == JsonValueKind.Object && arguments.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static DateTimeOffset? ReadDate(JsonElement arguments, string name)
    {
        var text = ReadString(arguments, name);
        if (string.IsNullOrWhiteSpace(text))
            return null;
        if (!DateTime.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            throw new AssistantToolArgumentException($"'{name}' must be a date as yyyy-MM-dd, not '{text}'.");
        return new DateTimeOffset(date, TimeSpan.Zero);
    }

    [GeneratedRegex(@"\b(?<month>january|february|march|april|may|june|july|august|september|october|november|december)\b(\s+(?<year>\d{4}))?")]
    private static partial Regex MonthPattern();
}
