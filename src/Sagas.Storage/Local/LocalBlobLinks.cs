using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Sagas.Storage.Blobs;

namespace Sagas.Storage.Local;

/// <summary>
/// Signed, expiring download links for the local blob store:
/// <c>{PublicBaseUrl}/files/{key}?expires={unix seconds}&amp;name={file name}&amp;sig={HMAC-SHA256, base64url}</c>.
/// The signature covers key, expiry and file name, so none of them can be changed without invalidating the link.
/// The API serves <c>GET /files/{**key}</c> by calling <see cref="TryValidate"/> and then
/// <see cref="IBlobStore.OpenReadAsync"/>.
/// </summary>
public sealed class LocalBlobLinks
{
    public const string RoutePrefix = "files";
    public const string ExpiresParameter = "expires";
    public const string NameParameter = "name";
    public const string SignatureParameter = "sig";

    private readonly byte[] _signingKey;
    private readonly string _baseUrl;
    private readonly TimeProvider _timeProvider;

    public LocalBlobLinks(byte[] signingKey, string? publicBaseUrl, TimeProvider timeProvider)
    {
        if (signingKey.Length < 32)
            throw new ArgumentException("The signing key must be at least 32 bytes.", nameof(signingKey));
        _signingKey = signingKey;
        _baseUrl = (publicBaseUrl ?? "").TrimEnd('/');
        _timeProvider = timeProvider;
    }

    public Uri Create(string key, string fileName, TimeSpan? expiresIn = null)
    {
        BlobKey.Validate(key);
        var name = DownloadFileName.Sanitize(fileName, key[(key.LastIndexOf('/') + 1)..]);
        var expires = _timeProvider.GetUtcNow().Add(BlobLinks.Resolve(expiresIn)).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signature = Sign(key, expires, name);
        var path = string.Join('/', key.Split('/').Select(Uri.EscapeDataString));
        var link = $"{_baseUrl}/{RoutePrefix}/{path}?{ExpiresParameter}={expires}&{NameParameter}={Uri.EscapeDataString(name)}&{SignatureParameter}={signature}";
        return new Uri(link, string.IsNullOrEmpty(_baseUrl) ? UriKind.Relative : UriKind.Absolute);
    }

    /// <summary>
    /// Checks a link's parts as the API receives them (already URL-decoded). On success <paramref name="fileName"/> is
    /// the name to offer in Content-Disposition. <paramref name="error"/> is safe to show to the caller.
    /// </summary>
    public bool TryValidate(string? key, string? expires, string? fileName, string? signature, out string error)
    {
        if (!BlobKey.IsValid(key, out _))
        {
            error = "The link does not name a valid file.";
            return false;
        }

        if (string.IsNullOrEmpty(expires) || string.IsNullOrEmpty(signature) || fileName is null
            || !long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var expiresAt))
        {
            error = "The link is incomplete: expires, name and sig are required.";
            return false;
        }

        byte[] presented;
        try
        {
            presented = Base64Url.DecodeFromChars(signature);
        }
        catch (FormatException)
        {
            error = "The link signature is invalid.";
            return false;
        }

        var expected = Compute(key!, expires, fileName);
        if (!CryptographicOperations.FixedTimeEquals(presented, expected))
        {
            error = "The link signature is invalid.";
            return false;
        }

        if (_timeProvider.GetUtcNow().ToUnixTimeSeconds() >= expiresAt)
        {
            error = "The link has expired.";
            return false;
        }

        error = "";
        return true;
    }

    private string Sign(string key, string expires, string fileName) => Base64Url.EncodeToString(Compute(key, expires, fileName));

    private byte[] Compute(string key, string expires, string fileName)
    {
        // Newlines cannot occur in a valid key or a sanitized name, so the three fields cannot be shifted into each other.
        var payload = Encoding.UTF8.GetBytes($"{key}\n{expires}\n{fileName}");
        return HMACSHA256.HashData(_signingKey, payload);
    }
}
