using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Sagas.Core.Webhooks;

public enum WebhookSignatureCheck
{
    Valid,
    MissingHeaders,
    InvalidTimestamp,
    TimestampOutsideTolerance,
    NoMatchingSignature,
}

/// <summary>
/// Standard Webhooks (https://www.standardwebhooks.com), the scheme OpenAI signs with and our outgoing notifications
/// sign with: HMAC-SHA256 keyed with the decoded <c>whsec_</c> secret over <c>{webhook-id}.{webhook-timestamp}.{raw
/// body}</c>; <c>webhook-signature</c> lists space-separated <c>v1,&lt;base64&gt;</c> entries (several while a secret is
/// being rotated), any one of which may match.
/// </summary>
public static class StandardWebhooks
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";
    public const string SecretPrefix = "whsec_";

    /// <summary>Deliveries signed further from our clock than this are refused, so a captured one cannot be replayed later.</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    private const string VersionPrefix = "v1,";

    /// <summary>
    /// The key bytes of a <c>whsec_&lt;base64&gt;</c> secret, or why it is unusable. The reason never contains the
    /// value: it ends up in start-up errors, and the secret is a credential.
    /// </summary>
    public static string? TryDecodeSecret(string? secret, int minimumBytes, out byte[] key)
    {
        key = [];
        var text = secret?.Trim();
        if (string.IsNullOrEmpty(text))
            return "is missing.";
        if (!text.StartsWith(SecretPrefix, StringComparison.Ordinal))
            return $"must have the Standard Webhooks form '{SecretPrefix}<base64>'.";
        try
        {
            key = Convert.FromBase64String(text[SecretPrefix.Length..]);
        }
        catch (FormatException)
        {
            return $"is not valid base64 after '{SecretPrefix}'.";
        }

        return key.Length < minimumBytes
            ? $"decodes to {key.Length} bytes; at least {minimumBytes} are required (e.g. '{SecretPrefix}' + base64 of 32 random bytes)."
            : null;
    }

    /// <summary>A <c>webhook-signature</c> header value, as the sender writes it.</summary>
    public static string Sign(byte[] key, string id, string timestamp, ReadOnlySpan<byte> body) =>
        VersionPrefix + Convert.ToBase64String(Compute(key, id, timestamp, body));

    public static WebhookSignatureCheck Verify(byte[] key, string? id, string? timestamp, string? signatures, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(id) || string.IsNullOrWhiteSpace(timestamp) || string.IsNullOrWhiteSpace(signatures))
            return WebhookSignatureCheck.MissingHeaders;
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
            return WebhookSignatureCheck.InvalidTimestamp;
        if ((now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > Tolerance)
            return WebhookSignatureCheck.TimestampOutsideTolerance;

        var expected = Compute(key, id, timestamp, body);
        Span<byte> presented = stackalloc byte[64];
        foreach (var entry in signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!entry.StartsWith(VersionPrefix, StringComparison.Ordinal))
                continue;
            if (Convert.TryFromBase64String(entry[VersionPrefix.Length..], presented, out var written)
                && CryptographicOperations.FixedTimeEquals(presented[..written], expected))
            {
                return WebhookSignatureCheck.Valid;
            }
        }

        return WebhookSignatureCheck.NoMatchingSignature;
    }

    private static byte[] Compute(byte[] key, string id, string timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes($"{id}.{timestamp}.");
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return HMACSHA256.HashData(key, content);
    }
}
