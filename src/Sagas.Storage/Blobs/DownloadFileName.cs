namespace Sagas.Storage.Blobs;

/// <summary>
/// File names offered to browsers come from user uploads and manifests: keep them to one harmless path segment
/// so they can go into a Content-Disposition header and a signed link unchanged.
/// </summary>
public static class DownloadFileName
{
    public const int MaxLength = 200;

    public static string Sanitize(string? fileName, string fallback = "download")
    {
        if (string.IsNullOrWhiteSpace(fileName))
            return fallback;

        var characters = fileName
            .Select(c => char.IsControl(c) || c is '/' or '\\' or '"' or ':' or '*' or '?' or '<' or '>' or '|' ? '_' : c)
            .ToArray();
        var cleaned = new string(characters).Trim().TrimStart('.');
        if (cleaned.Length == 0)
            return fallback;
        return cleaned.Length <= MaxLength ? cleaned : cleaned[..MaxLength];
    }
}
