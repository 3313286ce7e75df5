using System.Globalization;
using System.Text.Json.Serialization;

namespace Sagas.ScanSessions.Fetching.GoogleDrive;

/// <summary>A Drive v3 file resource with the fields the scan asks for. Drive sends <c>size</c> as a string (int64 in JSON).</summary>
public sealed record DriveFileMetadata(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("mimeType")] string? MimeType,
    [property: JsonPropertyName("size")] string? Size,
    [property: JsonPropertyName("webViewLink")] string? WebViewLink)
{
    public const string GoogleAppsPrefix = "application/vnd.google-apps.";

    /// <summary>Absent for Google Docs Editors files and folders, which have no stored bytes.</summary>
    [JsonIgnore]
    public long? SizeBytes => long.TryParse(Size, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes : null;

    [JsonIgnore]
    public bool IsGoogleNative => MimeType?.StartsWith(GoogleAppsPrefix, StringComparison.Ordinal) == true;
}

/// <summary>Source-generated JSON metadata for the Drive client (Refit's generated clients use no reflection JSON).</summary>
[JsonSerializable(typeof(DriveFileMetadata))]
internal sealed partial class DriveJsonContext : JsonSerializerContext;
