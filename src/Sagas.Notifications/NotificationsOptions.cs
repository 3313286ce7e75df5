using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Sagas.Core.Configuration;
using Sagas.Core.Webhooks;

namespace Sagas.Notifications;

/// <summary>Section <c>Notifications</c>: the outgoing webhook endpoints and how hard delivery tries (docs/notifications.md).</summary>
public sealed class NotificationsOptions : IValidatableObject
{
    public const string SectionName = "Notifications";

    public const int MinimumSecretBytes = 24;

    private IReadOnlyList<string>? _knownEvents;

    public List<WebhookEndpointOptions> Webhooks { get; set; } = [];

    /// <summary>Bound on one POST attempt (connect, send, response headers).</summary>
    [Positive]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>HTTP retries of one delivery on 5xx, 408, 429, timeouts and connection failures.</summary>
    [Range(0, 20)]
    public int MaxRetries { get; set; } = 4;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap on a backoff delay and on a receiver's Retry-After (a receiver cannot park a worker for hours).</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Times the bus retries a delivery whose HTTP retries were all transient failures, before the message goes to the
    /// <c>_error</c> queue (and <c>failed_messages</c>) for redelivery by an operator.
    /// </summary>
    [Range(0, 20)]
    public int MessageRetries { get; set; } = 3;

    [NotNegative]
    public TimeSpan MessageRetryInterval { get; set; } = TimeSpan.FromSeconds(30);

    public bool Enabled => Webhooks.Count > 0;

    /// <summary>
    /// How long a claimed delivery is left to the process that claimed it: the longest one POST can take with its HTTP
    /// retries, and a margin. A copy of the event that finds the claim older than this takes the delivery over (the first
    /// process died).
    /// </summary>
    public TimeSpan DeliveryLease => AttemptTimeout * (MaxRetries + 1) + MaxRetryDelay * MaxRetries + TimeSpan.FromSeconds(30);

    public WebhookEndpointOptions? Find(string name) =>
        Webhooks.FirstOrDefault(endpoint => string.Equals(endpoint.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The webhook events the registered workflows send, which <c>Events</c> filters may name; configuration cannot
    /// know them, so the registration passes them in before validation.
    /// </summary>
    public void AcceptEvents(IReadOnlyList<string> knownEvents) => _knownEvents = knownEvents;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RetryBaseDelay < TimeSpan.Zero || MaxRetryDelay < RetryBaseDelay)
            yield return new ValidationResult($"{validationContext.Key(nameof(RetryBaseDelay))} ({RetryBaseDelay}) must be at least zero and at most MaxRetryDelay ({MaxRetryDelay}).");

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var index = 0; index < Webhooks.Count; index++)
        {
            var endpoint = Webhooks[index];
            var key = OptionsValidation.ItemKey(validationContext.Key(nameof(Webhooks)), index, endpoint);
            if (WebhookEndpointOptions.HasValidName(endpoint.Name) && !names.Add(endpoint.Name))
                yield return new ValidationResult($"{key}:Name is used by another webhook endpoint; names must be unique.");
            if (_knownEvents is { } known)
            {
                foreach (var name in endpoint.Events.Where(name => !known.Contains(name)))
                    yield return new ValidationResult($"{key}:Events names unknown event '{name}'. Known: {string.Join(", ", known)}.");
            }
        }
    }
}

/// <summary>One receiver of outgoing webhooks.</summary>
public sealed partial class WebhookEndpointOptions : IValidatableObject, ILabelledSetting
{
    private const string NameRule = "{0} is missing or not made of letters, digits, '.', '_' and '-' (at most 64).";

    /// <summary>Stable name: part of the <c>webhook-id</c>, the log lines and the metric tag.</summary>
    [Required(ErrorMessage = NameRule)]
    [RegularExpression(NamePattern, ErrorMessage = NameRule)]
    public string Name { get; set; } = "";

    [HttpUrl]
    public string Url { get; set; } = "";

    /// <summary><c>whsec_&lt;base64&gt;</c>, shared with the receiver to verify <c>webhook-signature</c>.</summary>
    public string Secret { get; set; } = "";

    /// <summary>Event names this endpoint receives; empty means every event.</summary>
    public List<string> Events { get; set; } = [];

    string? ILabelledSetting.Label => Name;

    public bool Wants(string eventType) => Events.Count == 0 || Events.Contains(eventType, StringComparer.Ordinal);

    internal static bool HasValidName(string? name) => name is not null && EndpointName().IsMatch(name);

    // Secrets are never echoed.
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Uri.TryCreate(Url, UriKind.Absolute, out var url) && !string.IsNullOrEmpty(url.UserInfo))
            yield return new ValidationResult($"{validationContext.Key(nameof(Url))} must not carry credentials; the signature authenticates the sender.");
        if (StandardWebhooks.TryDecodeSecret(Secret, NotificationsOptions.MinimumSecretBytes, out _) is { } secretProblem)
            yield return new ValidationResult($"{validationContext.Key(nameof(Secret))} {secretProblem}");
    }

    private const string NamePattern = "^[A-Za-z0-9._-]{1,64}$";

    [GeneratedRegex(NamePattern)]
    private static partial Regex EndpointName();
}
