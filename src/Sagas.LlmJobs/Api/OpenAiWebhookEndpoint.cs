using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.Core.Telemetry;
using Sagas.Core.Webhooks;
using Sagas.LlmJobs.Providers;

namespace Sagas.LlmJobs.Api;

/// <summary>
/// <c>POST /api/webhooks/openai</c>: OpenAI's push that a background response or a batch finished. The signature is
/// the only credential (OpenAI cannot send our API key), so the route opts out of API-key/JWT authentication and
/// exists only when a signing secret is configured.
/// </summary>
public static class OpenAiWebhookEndpoint
{
    public const string Route = "/api/webhooks/openai";

    /// <summary>OpenAI's event payloads are a few hundred bytes (ids only); anything near this is not one of them.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    private static readonly Counter<long> Deliveries = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.llm_jobs.webhooks", description: "Webhook deliveries by event type and outcome (accepted, ignored, rejected).");

    private static readonly HashSet<string> ResponseEvents = ["response.completed", "response.failed", "response.cancelled", "response.incomplete"];
    private static readonly HashSet<string> BatchEvents = ["batch.completed", "batch.failed", "batch.expired", "batch.cancelled"];

    public static IEndpointRouteBuilder MapOpenAiWebhookEndpoint(this IEndpointRouteBuilder endpoints)
    {
        var providers = endpoints.ServiceProvider.GetRequiredService<LlmJobProvidersOptions>();
        if (!providers.OpenAi.WebhooksConfigured)
            return endpoints;

        var key = providers.OpenAi.WebhookSigningKey();
        endpoints.MapPost(Route, (HttpContext http, LlmJobWebhookNudge nudge, TimeProvider clock, ILoggerFactory loggers, CancellationToken cancellationToken) =>
                ReceiveAsync(http, key, nudge, clock, loggers.CreateLogger(typeof(OpenAiWebhookEndpoint).FullName!), cancellationToken))
            .AllowAnonymous()
            .WithTags("Webhooks")
            .WithSummary("Receives OpenAI webhook events (Standard Webhooks signature); a finished response or batch makes its job due for polling.")
            .Produces(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        return endpoints;
    }

    public static IServiceCollection AddOpenAiWebhooks(this IServiceCollection services)
    {
        services.AddSingleton(new PollTickThrottle(PollTickThrottle.DefaultInterval));
        services.AddScoped<LlmJobWebhookNudge>();
        return services;
    }

    private static async Task<IResult> ReceiveAsync(HttpContext http, byte[] key, LlmJobWebhookNudge nudge, TimeProvider clock, ILogger logger, CancellationToken cancellationToken)
    {
        var body = await ReadBoundedAsync(http.Request, cancellationToken);
        if (body is null)
        {
            Count("unverified", "rejected");
            return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Webhook body too large",
                detail: $"Webhook bodies are limited to {MaxBodyBytes:N0} bytes.");
        }

        var headers = http.Request.Headers;
        var check = StandardWebhooks.Verify(
            key,
            headers[StandardWebhooks.IdHeader].ToString(),
            headers[StandardWebhooks.TimestampHeader].ToString(),
            headers[StandardWebhooks.SignatureHeader].ToString(),
            body,
            clock.GetUtcNow());
        if (check != WebhookSignatureCheck.Valid)
        {
            // Only the reason: the body and headers of a delivery we cannot trust are not worth a log line each.
            logger.LogWarning("OpenAI webhook refused: {Reason}", check);
            Count("unverified", "rejected");
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Webhook signature not valid", detail: Explain(check));
        }

        if (!TryReadEvent(body, out var type, out var id))
        {
            logger.LogWarning("OpenAI webhook {WebhookId}: signed, but not an event with a type and data.id", headers[StandardWebhooks.IdHeader].ToString());
            Count("malformed", "rejected");
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Webhook event not readable", detail: "Expected a JSON event with 'type' and 'data.id'.");
        }

        bool owned;
        if (ResponseEvents.Contains(type))
            owned = await nudge.ResponseFinishedAsync(id, cancellationToken);
        else if (BatchEvents.Contains(type))
            owned = await nudge.BatchFinishedAsync(id, cancellationToken);
        else
        {
            logger.LogDebug("OpenAI webhook event {Type} ignored: not one LLM jobs act on", type);
            Count("other", "ignored");
            return Results.Ok();
        }

        if (!owned)
            logger.LogDebug("OpenAI webhook {Type} for {ProviderId} ignored: no running job holds it", type, id);
        Count(type, owned ? "accepted" : "ignored");
        return Results.Ok();
    }

    /// <summary>The raw bytes, because the signature covers them exactly; null when the body exceeds the bound.</summary>
    private static async Task<byte[]?> ReadBoundedAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
            return null;
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
                return null;
            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static bool TryReadEvent(byte[] body, out string type, out string id)
    {
        (type, id) = ("", "");
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object
                || !data.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.String)
            {
                return false;
            }

            (type, id) = (typeElement.GetString()!, idElement.GetString()!);
            return type.Length > 0 && id.Length > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Explain(WebhookSignatureCheck check) => check switch
    {
        WebhookSignatureCheck.MissingHeaders => "The webhook-id, webhook-timestamp and webhook-signature headers are required.",
        WebhookSignatureCheck.InvalidTimestamp => "webhook-timestamp must be Unix seconds.",
        WebhookSignatureCheck.TimestampOutsideTolerance => $"webhook-timestamp is more than {StandardWebhooks.Tolerance.TotalMinutes:0} minutes away from this server's clock.",
        _ => "No v1 signature in webhook-signature matches the body signed with the configured secret.",
    };

    // Event types outside the known set are tagged "other" so a sender cannot grow the metric's cardinality.
    private static void Count(string eventType, string outcome) =>
        Deliveries.Add(1, new TagList { { "event_type", eventType }, { "outcome", outcome } });
}
