using System.Text.RegularExpressions;

namespace Sagas.ScanSessions.Sources;

/// <summary>
/// Reads what a manifest's link column holds: a Google Drive link (<c>/file/d/{id}/…</c>, <c>open?id=</c>,
/// <c>uc?id=</c>, Docs/Sheets/Slides <c>/d/{id}</c>), a bare Drive file id, or a plain http(s) URL.
/// </summary>
public static partial class FileLink
{
    public static bool TryParse(string? text, out FileReferenceKind kind, out string locator, out string error)
    {
        kind = default;
        locator = string.Empty;
        error = string.Empty;
        var value = text?.Trim() ?? string.Empty;
        if (value.Length == 0)
        {
            error = "no link or Drive file id";
            return false;
        }

        if (DriveId().IsMatch(value))
        {
            kind = FileReferenceKind.DriveFile;
            locator = value;
            return true;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            error = $"'{Shorten(value)}' is neither a Google Drive link, a Drive file id nor an http(s) URL";
            return false;
        }

        if (uri.UserInfo.Length > 0)
        {
            error = $"'{Shorten(value)}' carries credentials; links with user names or passwords are not accepted";
            return false;
        }

        var host = uri.IdnHost.ToLowerInvariant();
        if (host is "drive.google.com" or "docs.google.com")
        {
            if (DriveIdFrom(uri) is { } id)
            {
                kind = FileReferenceKind.DriveFile;
                locator = id;
                return true;
            }

            error = uri.AbsolutePath.Contains("/folders/", StringComparison.Ordinal)
                ? $"'{Shorten(value)}' is a Drive folder, not a file"
                : $"'{Shorten(value)}' is a Google Drive link without a file id";
            return false;
        }

        kind = FileReferenceKind.Url;
        locator = uri.AbsoluteUri;
        return true;
    }

    /// <summary>A name for a row whose name cell is empty: the URL's last path segment, or the Drive id.</summary>
    public static string FallbackName(FileReferenceKind kind, string locator)
    {
        if (kind != FileReferenceKind.Url || !Uri.TryCreate(locator, UriKind.Absolute, out var uri))
            return locator;

        var segment = Uri.UnescapeDataString(uri.Segments[^1].Trim('/'));
        return segment.Length > 0 ? segment : uri.Host;
    }

    private static string? DriveIdFrom(Uri uri)
    {
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var d = Array.IndexOf(segments, "d");
        if (d >= 0 && d + 1 < segments.Length && IdChars().IsMatch(segments[d + 1]))
            return segments[d + 1];

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && pair[..equals] == "id")
            {
                var id = Uri.UnescapeDataString(pair[(equals + 1)..]);
                return IdChars().IsMatch(id) ? id : null;
            }
        }

        return null;
    }

    private static string Shorten(string value) => value.Length <= 80 ? value : string.Concat(value.AsSpan(0, 80), "…");

    /// <summary>Drive ids are 25–44 URL-safe characters today; 20 keeps ordinary words and file names out.</summary>
    [GeneratedRegex("^[A-Za-z0-9_-]{20,200}$")]
    private static partial Regex DriveId();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,200}$")]
    private static partial Regex IdChars();
}
