using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;
using Sagas.Core.Webhooks;
using Sagas.Notifications.Webhooks;

namespace Sagas.Notifications;

/// <summary>Section <c>Notifications</c>: the outgoing webhook endpoints and how hard delivery tries (docs/notifications.md).</summary>
public sealed partial class NotificationsOptions
{
    public const string SectionName = "Notifications";

    public const int MinimumSecretBytes = 24;

    public List<WebhookEndpointOptions> Webhooks { get; set; } = [];

    /// <summary>Bound on one POST attempt (connect, send, response headers).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>HTTP retries of one delivery on 5xx, 408, 429, timeouts and connection failures.</summary>
    public int MaxRetries { get; set; } = 4;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap on a backoff delay and on a receiver's Retry-After (a receiver cannot park a worker for hours).</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Times the bus retries a delivery whose HTTP retries were all transient failures, before the message goes to the
    /// <c>_error</c> queue (and <c>failed_messages</c>) for redelivery by an operator.
    /// </summary>
    public int MessageRetries { get; set; } = 3;

    public TimeSpan MessageRetryInterval { get; set; } = TimeSpan.FromSeconds(30);

    public bool Enabled => Webhooks.Count > 0;

    public WebhookEndpointOptions? Find(string name) =>
        Webhooks.FirstOrDefault(endpoint => string.Equals(endpoint.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <param name="knownEvents">The webhook events the registered workflows send.</param>
    public static NotificationsOptions Read(IConfiguration configuration, IReadOnlyList<string> knownEvents)
    {
        var options = new NotificationsOptions();
        try
        {
            configuration.GetSection(SectionName).Bind(options);
        }
        catch (InvalidOperationException exception)
        {
            throw new SagasConfigurationException($"{SectionName}: {exception.Message}");
        }

        options.Validate(knownEvents);
        return options;
    }

    /// <summary>Every problem at once, each naming the entry; secrets are never echoed.</summary>
    public void Validate(IReadOnlyList<string> knownEvents)
    {
        var problems = new List<string>();
        if (AttemptTimeout <= TimeSpan.Zero)
            problems.Add($"{SectionName}:AttemptTimeout is {AttemptTimeout}; it must be positive.");
        if (MaxRetries is < 0 or > 20)
            problems.Add($"{SectionName}:MaxRetries is {MaxRetries}; it must be between 0 and 20.");
        if (RetryBaseDelay < TimeSpan.Zero || MaxRetryDelay < RetryBaseDelay)
            problems.Add($"{SectionName}:RetryBaseDelay ({RetryBaseDelay}) must be at least zero and at most MaxRetryDelay ({MaxRetryDelay}).");
        if (MessageRetries is < 0 or > 20)
            problems.Add($"{SectionName}:MessageRetries is {MessageRetries}; it must be between 0 and 20.");
        if (MessageRetryInterval < TimeSpan.Zero)
            problems.Add($"{SectionName}:MessageRetryInterval is {MessageRetryInterval}; it must not be negative.");

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var index = 0; index < Webhooks.Count; index++)
        {
            var endpoint = Webhooks[index];
            var label = string.IsNullOrWhiteSpace(endpoint.Name)
                ? $"{SectionName}:Webhooks:{index}"
                : $"{SectionName}:Webhooks:{index} ('{endpoint.Name}')";

            if (string.IsNullOrWhiteSpace(endpoint.Name) || !EndpointName().IsMatch(endpoint.Name))
                problems.Add($"{label}:Name is missing or not made of letters, digits, '.', '_' and '-' (at most 64).");
            else if (!names.Add(endpoint.Name))
                problems.Add($"{label}:Name is used by another webhook endpoint; names must be unique.");

            if (!Uri.TryCreate(endpoint.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
                problems.Add($"{label}:Url '{endpoint.Url}' is not an absolute http or https URL.");
            else if (!string.IsNullOrEmpty(url.UserInfo))
                problems.Add($"{label}:Url must not carry credentials; the signature authenticates the sender.");

            if (StandardWebhooks.TryDecodeSecret(endpoint.Secret, MinimumSecretBytes, out _) is { } secretProblem)
                problems.Add($"{label}:Secret {secretProblem}");

            foreach (var name in endpoint.Events.Where(name => !knownEvents.Contains(name)))
                problems.Add($"{label}:Events names unknown event '{name}'. Known: {string.Join(", ", knownEvents)}.");
        }

        if (problems.Count > 0)
            throw new SagasConfigurationException(string.Join(" ", problems));
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex EndpointName();
}

/// <summary>One receiver of outgoing webhooks.</summary>
public sealed class WebhookEndpointOptions
{
    /// <summary>Stable name: part of the <c>webhook-id</c>, the log lines and the metric tag.</summary>
    public string Name { get; set; } = "";

    public string Url { get; set; } = "";

    /// <summary><c>whsec_&lt;base64&gt;</c>, shared with the receiver to verify <c>webhook-signature</c>.</summary>
    public string Secret { get; set; } = "";

    /// <summary>Event names this endpoint receives; empty means every event.</summary>
    public List<string> Events { get; set; } = [];

    public bool Wants(string eventType) => Events.Count == 0 || Events.Contains(eventType, StringComparer.Ordinal);
}
