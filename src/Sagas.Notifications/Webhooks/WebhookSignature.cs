using System.Security.Cryptography;
using System.Text;

namespace Sagas.Notifications.Webhooks;

/// <summary>Standard Webhooks signing (https://www.standardwebhooks.com): HMAC-SHA256 over <c>{id}.{timestamp}.{body}</c>.</summary>
public static class WebhookSignature
{
    public const string IdHeader = "webhook-id";

    public const string TimestampHeader = "webhook-timestamp";

    public const string SignatureHeader = "webhook-signature";

    /// <summary>The <c>webhook-signature</c> value: <c>v1,</c> and the base64 MAC.</summary>
    public static string Sign(byte[] key, string webhookId, long timestamp, string body)
    {
        var content = Encoding.UTF8.GetBytes($"{webhookId}.{timestamp}.{body}");
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, content));
    }

    /// <summary>
    /// Deterministic per event and endpoint: the same finished job, session or analysis yields the same id however
    /// often its event is delivered or published, so receivers dedupe on it.
    /// </summary>
    public static string WebhookId(string eventType, Guid subjectId, string endpointName)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{eventType}\n{subjectId:N}\n{endpointName.ToLowerInvariant()}"));
        return "msg_" + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }
}
