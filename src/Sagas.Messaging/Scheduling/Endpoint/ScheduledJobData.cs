using System.Globalization;
using System.Text.Json;
using MassTransit;
using Quartz;

namespace Sagas.Messaging.Scheduling.Endpoint;

/// <summary>
/// What a Quartz job keeps of a scheduled message: the serialized envelope as it must be delivered and the
/// message context around it. Everything is a string so the ADO store keeps it readable
/// (<c>StoreJobDataAsStrings</c>) and no CLR type name ends up in the database.
/// </summary>
internal static class ScheduledJobData
{
    public const string Destination = "Destination";
    public const string Body = "Body";
    public const string ContentType = "ContentType";
    public const string PayloadType = "PayloadType";
    public const string MessageId = "MessageId";
    public const string CorrelationId = "CorrelationId";
    public const string ConversationId = "ConversationId";
    public const string InitiatorId = "InitiatorId";
    public const string RequestId = "RequestId";
    public const string SourceAddress = "SourceAddress";
    public const string ResponseAddress = "ResponseAddress";
    public const string FaultAddress = "FaultAddress";
    public const string ExpirationTime = "ExpirationTime";
    public const string TokenId = "TokenId";
    public const string Headers = "Headers";

    /// <summary>Job and trigger group of one-off schedules (their names are the scheduling token).</summary>
    public const string OneOffGroup = "scheduled";

    /// <summary>MassTransit's recurring trigger names carry this prefix; the same names keep clients' ids working.</summary>
    public const string RecurringTriggerPrefix = "Recurring.Trigger.";

    /// <summary>
    /// A fire whose send fails (broker unreachable) is fired again after 2 s, 4 s, … up to 2 min between attempts,
    /// for about a quarter of an hour; a recurring schedule's retries never displace its next occurrence.
    /// </summary>
    public static readonly RetryPolicy SendRetryPolicy = RetryPolicy.Exponential(12, TimeSpan.FromSeconds(2), 2, TimeSpan.FromMinutes(2));

    public static JobKey OneOffJobKey(Guid tokenId) => new(tokenId.ToString("N"), OneOffGroup);

    public static TriggerKey OneOffTriggerKey(Guid tokenId) => new(tokenId.ToString("N"), OneOffGroup);

    public static JobKey RecurringJobKey(string scheduleId, string? scheduleGroup) =>
        new(scheduleId, GroupOrDefault(scheduleGroup));

    public static TriggerKey RecurringTriggerKey(string scheduleId, string? scheduleGroup) =>
        new(scheduleId.StartsWith(RecurringTriggerPrefix, StringComparison.Ordinal) ? scheduleId : RecurringTriggerPrefix + scheduleId, GroupOrDefault(scheduleGroup));

    public static string GroupOrDefault(string? group) => string.IsNullOrWhiteSpace(group) ? JobKey.DefaultGroup : group;

    public static void PutIfPresent(this JobDataMap data, string key, Guid? value)
    {
        if (value.HasValue)
            data[key] = value.Value.ToString("D");
    }

    public static void PutIfPresent(this JobDataMap data, string key, Uri? value)
    {
        if (value is not null)
            data[key] = value.ToString();
    }

    public static string? ReadString(this JobDataMap data, string key) =>
        data.TryGetValue(key, out var value) && value is not null ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;

    public static Guid? ReadGuid(this JobDataMap data, string key) =>
        Guid.TryParse(data.ReadString(key), out var value) ? value : null;

    public static Uri? ReadUri(this JobDataMap data, string key) =>
        Uri.TryCreate(data.ReadString(key), UriKind.RelativeOrAbsolute, out var value) ? value : null;

    public static DateTime? ReadDateTime(this JobDataMap data, string key) =>
        DateTime.TryParse(data.ReadString(key), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var value) ? value : null;

    /// <summary>Headers of the scheduling request that travel with the delivered message.</summary>
    public static string SerializeHeaders(Headers headers)
    {
        var kept = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in headers.GetAll())
        {
            if (IsRecomputedAtFire(key))
                continue;
            kept[key] = value;
        }

        return JsonSerializer.Serialize(kept);
    }

    public static IEnumerable<KeyValuePair<string, object>> DeserializeHeaders(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
            yield break;

        using var document = JsonDocument.Parse(json);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            if (ToHeaderValue(property.Value) is { } value)
                yield return new KeyValuePair<string, object>(property.Name, value);
        }
    }

    // Header values are primitives on every transport; anything structured is kept as its JSON text.
    private static object? ToHeaderValue(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number when element.TryGetInt64(out var whole) => whole,
        JsonValueKind.Number => element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => element.GetRawText(),
    };

    // Set again for every fire (or meaningless on the delivered message): copying them would deliver stale values.
    private static bool IsRecomputedAtFire(string key) =>
        key.StartsWith("MT-Quartz-", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("MT-Fault-", StringComparison.OrdinalIgnoreCase)
        || string.Equals(key, MessageHeaders.SchedulingTokenId, StringComparison.OrdinalIgnoreCase)
        || string.Equals(key, MessageHeaders.RedeliveryCount, StringComparison.OrdinalIgnoreCase)
        || string.Equals(key, MessageHeaders.Reason, StringComparison.OrdinalIgnoreCase);
}
