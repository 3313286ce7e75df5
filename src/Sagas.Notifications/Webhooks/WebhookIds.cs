using System.Security.Cryptography;
using System.Text;

namespace Sagas.Notifications.Webhooks;

public static class WebhookIds
{
    /// <summary>
    /// Deterministic per event and endpoint: the same finished job, session or analysis yields the same id however
    /// often its event is delivered or published, so receivers dedupe on it.
    /// </summary>
    public static string For(string eventType, Guid subjectId, string endpointName)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{eventType}\n{subjectId:N}\n{endpointName.ToLowerInvariant()}"));
        return "msg_" + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }
}
