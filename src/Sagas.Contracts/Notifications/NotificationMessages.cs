namespace Sagas.Contracts.Notifications;

/// <summary>
/// Notification fan-out → webhook sender: POST one event to one configured endpoint. Carries the endpoint's name only
/// (its URL and secret stay in configuration) and the finished body, so every redelivery sends the same bytes under
/// the same <see cref="WebhookId"/>.
/// </summary>
/// <param name="Endpoint">The <c>Notifications:Webhooks</c> entry's Name.</param>
/// <param name="WebhookId">The <c>webhook-id</c> header: deterministic per event and endpoint, so receivers can dedupe.</param>
/// <param name="EventType">The public event name, e.g. <c>llm-job.finished</c>.</param>
/// <param name="Body">The JSON body <c>{ type, id, timestamp, data }</c>, exactly as it is signed and sent.</param>
public sealed record DeliverWebhook(string Endpoint, string WebhookId, string EventType, string Body);
