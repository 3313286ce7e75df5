using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;
using Sagas.Core.Webhooks;

namespace Sagas.LlmJobs.Providers;

/// <summary>Section <c>LlmJobs:Providers</c>: which providers exist and how each one is reached.</summary>
public sealed class LlmJobProvidersOptions : IValidatableObject
{
    public const string SectionName = "LlmJobs:Providers";

    /// <summary>Provider used when a job names none: <c>simulated</c> (the embedded default) or <c>openai</c>.</summary>
    public string Default { get; set; } = SimulatedProviderOptions.ProviderName;

    [ValidatedOnlyWhen(nameof(OpenAiEnabled))]
    public OpenAiProviderOptions OpenAi { get; set; } = new();

    [ValidatedOnlyWhen(nameof(SimulatedEnabled))]
    public SimulatedProviderOptions Simulated { get; set; } = new();

    private bool OpenAiEnabled => OpenAi.Enabled;

    private bool SimulatedEnabled => Simulated.Enabled;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // Checked whenever present: a mistyped secret would otherwise surface only as every webhook being rejected.
        if (OpenAi.WebhooksConfigured && OpenAi.WebhookSecretProblem() is { } secretProblem)
            yield return new ValidationResult($"{validationContext.Key(nameof(OpenAi))}:{nameof(OpenAi.WebhookSecret)} {secretProblem}");

        var enabled = EnabledProviderNames();
        if (enabled.Count == 0)
            yield return new ValidationResult($"{validationContext.DisplayName}: no provider is enabled; set OpenAi:Enabled or Simulated:Enabled to true.");
        else if (!enabled.Contains(Default?.Trim() ?? string.Empty, StringComparer.OrdinalIgnoreCase))
            yield return new ValidationResult($"{validationContext.Key(nameof(Default))} is '{Default}', which is not an enabled provider. Enabled: {string.Join(", ", enabled)}.");
    }

    public IReadOnlyList<string> EnabledProviderNames()
    {
        var names = new List<string>();
        if (OpenAi.Enabled)
            names.Add(OpenAiProviderOptions.ProviderName);
        if (Simulated.Enabled)
            names.Add(SimulatedProviderOptions.ProviderName);
        return names;
    }
}

/// <summary>Section <c>LlmJobs:Providers:OpenAi</c>.</summary>
public sealed class OpenAiProviderOptions : IValidatableObject
{
    public const string ProviderName = "openai";

    /// <summary>OpenAI's published limits for one batch input file.</summary>
    public const int BatchLineLimit = 50_000;

    public const long BatchFileByteLimit = 200L * 1000 * 1000;

    /// <summary>OpenAI's dashboard issues 32-byte secrets; anything much shorter is a copy-paste accident.</summary>
    private const int WebhookSecretMinimumBytes = 16;

    public bool Enabled { get; set; }

    /// <summary>API root without <c>/v1</c>, so a proxy, a regional endpoint or a local stub can stand in.</summary>
    [HttpUrl]
    public string BaseUrl { get; set; } = "https://api.openai.com";

    /// <summary>Secret; required when enabled. Never logged: put it in a secret store or an environment variable.</summary>
    [Required(ErrorMessage = "{0} is empty; set it (e.g. environment variable LlmJobs__Providers__OpenAi__ApiKey) or disable the provider.")]
    public string? ApiKey { get; set; }

    public string? OrganizationId { get; set; }

    public string? ProjectId { get; set; }

    [Required]
    public string DefaultModel { get; set; } = "gpt-6-luna";

    /// <summary>Time allowed for one HTTP call (not for the model's work, which runs in the background).</summary>
    [Positive]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Caps the answer length; the decision needs little, but reasoning models also spend output tokens thinking.</summary>
    [Positive(ErrorMessage = "{0} is {1}; leave it empty or give a positive number.")]
    public int? MaxOutputTokens { get; set; }

    /// <summary>Lines per provider batch; at most OpenAI's 50,000.</summary>
    [Range(1, BatchLineLimit)]
    public int MaxItemsPerBatch { get; set; } = BatchLineLimit;

    /// <summary>Bytes per batch input file; at most OpenAI's 200 MB.</summary>
    [Range(1024, BatchFileByteLimit)]
    public long MaxBatchFileBytes { get; set; } = BatchFileByteLimit;

    [Positive]
    public int MaxInputCharacters { get; set; } = 100_000;

    /// <summary>The Batch API's completion window; OpenAI accepts only <c>24h</c> today.</summary>
    [Required(ErrorMessage = "{0} is empty; OpenAI accepts 24h.")]
    public string BatchCompletionWindow { get; set; } = "24h";

    public LlmRetrySettings Retry { get; set; } = new();

    /// <summary>
    /// The signing secret of the webhook endpoint created in the OpenAI dashboard (<c>whsec_</c> followed by base64).
    /// Secret like <see cref="ApiKey"/>; when set, <c>POST /api/webhooks/openai</c> accepts deliveries signed with it.
    /// </summary>
    public string? WebhookSecret { get; set; }

    public bool WebhooksConfigured => !string.IsNullOrWhiteSpace(WebhookSecret);

    public Uri ApiEndpoint => new(BaseUrl.TrimEnd('/') + "/v1");

    /// <summary>The HMAC key: the base64 after <c>whsec_</c>, decoded. Call only once the options validated.</summary>
    public byte[] WebhookSigningKey() =>
        StandardWebhooks.TryDecodeSecret(WebhookSecret, WebhookSecretMinimumBytes, out var key) is null ? key : throw new InvalidOperationException("LlmJobs:Providers:OpenAi:WebhookSecret is not configured or not valid.");

    // Names the setting and the expected shape but never echoes the value: it is a credential.
    internal string? WebhookSecretProblem() =>
        StandardWebhooks.TryDecodeSecret(WebhookSecret, WebhookSecretMinimumBytes, out _) is { } problem
            ? $"{problem} Copy it from the OpenAI dashboard as shown there."
            : null;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Uri.TryCreate(BaseUrl, UriKind.Absolute, out var baseUri) && baseUri.AbsolutePath.TrimEnd('/').EndsWith("/v1", StringComparison.OrdinalIgnoreCase))
            yield return new ValidationResult($"{validationContext.Key(nameof(BaseUrl))} is '{BaseUrl}'; leave out the trailing /v1, it is added for every call.");
    }
}

/// <summary>Section <c>LlmJobs:Providers:Simulated</c>.</summary>
public sealed class SimulatedProviderOptions : IValidatableObject
{
    public const string ProviderName = "simulated";

    public bool Enabled { get; set; } = true;

    /// <summary>Same seed and item id give the same decision and the same processing time.</summary>
    public int Seed { get; set; } = 1;

    [Required]
    public string DefaultModel { get; set; } = "simulated-flagger";

    /// <summary>Shortest time from submission until an item is finished.</summary>
    [NotNegative]
    public TimeSpan MinLatency { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest time from submission until an item is finished; each item gets a value in between.</summary>
    public TimeSpan MaxLatency { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Share of items (0..1) that end failed with a permanent <c>simulated_failure</c>.</summary>
    [Range(0d, 1d)]
    public double FailureRate { get; set; } = 0.02;

    /// <summary>Share of calls (0..1) answered with a transient 429, to exercise back-off.</summary>
    [Range(0d, 1d)]
    public double RateLimitRate { get; set; }

    /// <summary>Retry-After sent with a simulated 429.</summary>
    [NotNegative]
    public TimeSpan RateLimitRetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Share of succeeded items (0..1) whose decision is flagged.</summary>
    [Range(0d, 1d)]
    public double FlaggedRate { get; set; } = 0.2;

    /// <summary>A batch still unfinished this long after submission expires; its unfinished items fail with <c>batch_expired</c>.</summary>
    [Positive]
    public TimeSpan BatchCompletionWindow { get; set; } = TimeSpan.FromHours(24);

    [Positive]
    public int MaxItemsPerBatch { get; set; } = OpenAiProviderOptions.BatchLineLimit;

    [Positive]
    public int MaxInputCharacters { get; set; } = 100_000;

    public LlmRetrySettings Retry { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxLatency < MinLatency)
        {
            yield return new ValidationResult(
                $"{validationContext.Key(nameof(MaxLatency))} ({MaxLatency}) is shorter than {validationContext.Key(nameof(MinLatency))} ({MinLatency}).");
        }
    }
}
