using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using Polly.Timeout;
using Sagas.Contracts.Notifications;
using Sagas.Core.Webhooks;

namespace Sagas.Notifications.Webhooks;

/// <summary>One signed POST through the <c>webhooks</c> client (whose pipeline retries transient failures).</summary>
public sealed class WebhookSender(IHttpClientFactory clients, TimeProvider time)
{
    public const string HttpClientName = "webhooks";

    /// <param name="attempts">Counts the POSTs made, the pipeline's retries included, for the delivery log.</param>
    public async Task<WebhookSendResult> SendAsync(WebhookEndpointOptions endpoint, DeliverWebhook message, StrongBox<int> attempts, CancellationToken cancellationToken)
    {
        // Validated at start-up; decoding here keeps the key out of messages and logs.
        if (StandardWebhooks.TryDecodeSecret(endpoint.Secret, NotificationsOptions.MinimumSecretBytes, out var key) is { } problem)
            throw new InvalidOperationException($"Webhook endpoint '{endpoint.Name}' secret {problem}");

        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var body = Encoding.UTF8.GetBytes(message.Body);
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url);
        request.Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" } } };
        request.Headers.Add(StandardWebhooks.IdHeader, message.WebhookId);
        request.Headers.Add(StandardWebhooks.TimestampHeader, timestamp);
        request.Headers.Add(StandardWebhooks.SignatureHeader, StandardWebhooks.Sign(key, message.WebhookId, timestamp, body));
        request.Options.Set(WebhookAttemptCounter.Key, attempts);

        try
        {
            using var response = await clients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
                return new WebhookSendResult(WebhookSendOutcome.Delivered, status, null);
            return IsTransient(response.StatusCode)
                ? new WebhookSendResult(WebhookSendOutcome.Transient, status, $"HTTP {status}")
                : new WebhookSendResult(WebhookSendOutcome.Rejected, status, $"HTTP {status}");
        }
        catch (Exception exception) when (exception is HttpRequestException or TimeoutRejectedException
                                          || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // The exception text, not the request: it names the host and the socket error, never the body or secret.
            return new WebhookSendResult(WebhookSendOutcome.Transient, null, $"{exception.GetType().Name}: {exception.Message}");
        }
    }

    /// <summary>What the pipeline retries too; any other non-success (4xx, and 3xx since redirects are not followed) is final.</summary>
    public static bool IsTransient(HttpStatusCode status) =>
        (int)status >= 500 || status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
}

public enum WebhookSendOutcome
{
    Delivered,
    Rejected,
    Transient,
}

public sealed record WebhookSendResult(WebhookSendOutcome Outcome, int? StatusCode, string? Problem);

/// <summary>
/// Sits inside the retry pipeline, so it sees every attempt of one POST; the request carries the counter, since the
/// pipeline sends the same request message again.
/// </summary>
internal sealed class WebhookAttemptCounter : DelegatingHandler
{
    public static readonly HttpRequestOptionsKey<StrongBox<int>> Key = new("Sagas.WebhookAttempts");

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Options.TryGetValue(Key, out var attempts))
            Interlocked.Increment(ref attempts.Value);
        return base.SendAsync(request, cancellationToken);
    }
}
