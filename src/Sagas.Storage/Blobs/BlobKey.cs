namespace Sagas.Storage.Blobs;

/// <summary>
/// The one rule for blob keys, shared by all providers so a key that works locally works on S3 and the reverse:
/// '/'-separated segments of printable characters, no empty segments, no segment starting with '.' (which rules out
/// "." and ".." and keeps the local store's own dot-folders out of reach), no backslashes, at most 1024 characters.
/// </summary>
public static class BlobKey
{
    public const int MaxLength = 1024;

    public static bool IsValid(string? key, out string error)
    {
        error = "";
        if (string.IsNullOrEmpty(key))
        {
            error = "a blob key cannot be empty";
            return false;
        }

        if (key.Length > MaxLength)
        {
            error = $"a blob key is at most {MaxLength} characters";
            return false;
        }

        foreach (var character in key)
        {
            if (char.IsControl(character) || character == '\\')
            {
                error = "a blob key cannot contain control characters or backslashes";
                return false;
            }
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0)
            {
                error = "a blob key cannot start or end with '/' or contain '//'";
                return false;
            }

            if (segment[0] == '.')
            {
                error = "a blob key segment cannot start with '.'";
                return false;
            }

            if (segment.Trim().Length != segment.Length)
            {
                error = "a blob key segment cannot start or end with whitespace";
                return false;
            }
        }

        return true;
    }

    public static string Validate(string? key)
    {
        if (!IsValid(key, out var error))
            throw new ArgumentException($"Invalid blob key '{key}': {error}.", nameof(key));
        return key!;
    }

    /// <summary>A prefix may end with '/' (a "folder") or be empty; otherwise it follows the key rules.</summary>
    public static string ValidatePrefix(string? prefix)
    {
        if (string.IsNullOrEmpty(prefix))
            return "";
        var trimmed = prefix.EndsWith('/') ? prefix[..^1] : prefix;
        if (!IsValid(trimmed, out var error))
            throw new ArgumentException($"Invalid blob key prefix '{prefix}': {error}.", nameof(prefix));
        return prefix;
    }
}
