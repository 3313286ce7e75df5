using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;
using Sagas.Core.Webhooks;

namespace Sagas.LlmJobs.Providers;

/// <summary>Section <c>LlmJobs:Providers</c>: which providers exist and how each one is reached.</summary>
public sealed class LlmJobProvidersOptions
{
    public const string SectionName = "LlmJobs:Providers";

    /// <summary>Provider used when a job names none: <c>simulated</c> (the embedded default) or <c>openai</c>.</summary>
    public string Default { get; set; } = SimulatedProviderOptions.ProviderName;

    public OpenAiProviderOptions OpenAi { get; set; } = new();

    public SimulatedProviderOptions Simulated { get; set; } = new();

    public static LlmJobProvidersOptions Read(IConfiguration configuration)
    {
        var options = new LlmJobProvidersOptions();
        try
        {
            configuration.GetSection(SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the setting, its inner exception the bad text; keep both, drop the stack trace.
            var detail = ex.InnerException is { } inner ? $"{ex.Message} {inner.Message}" : ex.Message;
            throw new SagasConfigurationException($"{SectionName} cannot be read: {detail}");
        }

        return options;
    }

    /// <summary>Throws <see cref="SagasConfigurationException"/> listing every problem, so one restart fixes them all.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (OpenAi.Enabled)
            OpenAi.Validate($"{SectionName}:OpenAi", problems);
        // Checked whenever present: a mistyped secret would otherwise surface only as every webhook being rejected.
        if (OpenAi.WebhooksConfigured)
            OpenAi.ValidateWebhookSecret($"{SectionName}:OpenAi", problems);
        if (Simulated.Enabled)
            Simulated.Validate($"{SectionName}:Simulated", problems);

        var enabled = EnabledProviderNames();
        if (enabled.Count == 0)
            problems.Add($"{SectionName}: no provider is enabled; set OpenAi:Enabled or Simulated:Enabled to true.");
        else if (!enabled.Contains(Default?.Trim() ?? string.Empty, StringComparer.OrdinalIgnoreCase))
            problems.Add($"{SectionName}:Default is '{Default}', which is not an enabled provider. Enabled: {string.Join(", ", enabled)}.");

        if (problems.Count > 0)
            throw new SagasConfigurationException(string.Join(" ", problems));
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

    internal static void RequirePositive(TimeSpan value, string path, List<string> problems)
    {
        if (value <= TimeSpan.Zero)
            problems.Add($"{path} is {value}; it must be longer than zero.");
    }

    internal static void ValidateRetry(LlmRetrySettings retry, string path, List<string> problems)
    {
        if (retry.MaxRetryAttempts is < 0 or > 10)
            problems.Add($"{path}:MaxRetryAttempts is {retry.MaxRetryAttempts}; allowed 0 to 10.");
        RequirePositive(retry.BaseDelay, $"{path}:BaseDelay", problems);
        if (retry.MaxDelay < retry.BaseDelay)
            problems.Add($"{path}:MaxDelay ({retry.MaxDelay}) is shorter than {path}:BaseDelay ({retry.BaseDelay}).");
    }
}

/// <summary>Section <c>LlmJobs:Providers:OpenAi</c>.</summary>
public sealed class OpenAiProviderOptions
{
    public const string ProviderName = "openai";

    /// <summary>OpenAI's published limits for one batch input file.</summary>
    public const int BatchLineLimit = 50_000;

    public const long BatchFileByteLimit = 200L * 1000 * 1000;

    /// <summary>OpenAI's dashboard issues 32-byte secrets; anything much shorter is a copy-paste accident.</summary>
    private const int WebhookSecretMinimumBytes = 16;

    public bool Enabled { get; set; }

    /// <summary>API root without <c>/v1</c>, so a proxy, a regional endpoint or a local stub can stand in.</summary>
    public string BaseUrl { get; set; } = "https://api.openai.com";

    /// <summary>Secret; required when enabled. Never logged: put it in a secret store or an environment variable.</summary>
    public string? ApiKey { get; set; }

    public string? OrganizationId { get; set; }

    public string? ProjectId { get; set; }

    public string DefaultModel { get; set; } = "gpt-6-luna";

    /// <summary>Time allowed for one HTTP call (not for the model's work, which runs in the background).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Caps the answer length; the decision needs little, but reasoning models also spend output tokens thinking.</summary>
    public int? MaxOutputTokens { get; set; }

    /// <summary>Lines per provider batch; at most OpenAI's 50,000.</summary>
    public int MaxItemsPerBatch { get; set; } = BatchLineLimit;

    /// <summary>Bytes per batch input file; at most OpenAI's 200 MB.</summary>
    public long MaxBatchFileBytes { get; set; } = BatchFileByteLimit;

    public int MaxInputCharacters { get; set; } = 100_000;

    /// <summary>The Batch API's completion window; OpenAI accepts only <c>24h</c> today.</summary>
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

    // Problems name the setting and the expected shape but never echo the value: it is a credential.
    internal void ValidateWebhookSecret(string path, List<string> problems)
    {
        if (StandardWebhooks.TryDecodeSecret(WebhookSecret, WebhookSecretMinimumBytes, out _) is { } problem)
            problems.Add($"{path}:WebhookSecret {problem} Copy it from the OpenAI dashboard as shown there.");
    }

    internal void Validate(string path, List<string> problems)
    {
        if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var baseUri) || (baseUri.Scheme != Uri.UriSchemeHttps && baseUri.Scheme != Uri.UriSchemeHttp))
            problems.Add($"{path}:BaseUrl is '{BaseUrl}'; it must be an absolute http(s) URL such as https://api.openai.com.");
        else if (baseUri.AbsolutePath.TrimEnd('/').EndsWith("/v1", StringComparison.OrdinalIgnoreCase))
            problems.Add($"{path}:BaseUrl is '{BaseUrl}'; leave out the trailing /v1, it is added for every call.");

        if (string.IsNullOrWhiteSpace(ApiKey))
            problems.Add($"{path}:ApiKey is empty; set it (e.g. environment variable LlmJobs__Providers__OpenAi__ApiKey) or disable the provider.");
        if (string.IsNullOrWhiteSpace(DefaultModel))
            problems.Add($"{path}:DefaultModel is empty.");
        LlmJobProvidersOptions.RequirePositive(RequestTimeout, $"{path}:RequestTimeout", problems);
        if (MaxOutputTokens is <= 0)
            problems.Add($"{path}:MaxOutputTokens is {MaxOutputTokens}; leave it empty or give a positive number.");
        if (MaxItemsPerBatch is < 1 or > BatchLineLimit)
            problems.Add($"{path}:MaxItemsPerBatch is {MaxItemsPerBatch}; allowed 1 to {BatchLineLimit}.");
        if (MaxBatchFileBytes is < 1024 or > BatchFileByteLimit)
            problems.Add($"{path}:MaxBatchFileBytes is {MaxBatchFileBytes}; allowed 1024 to {BatchFileByteLimit}.");
        if (MaxInputCharacters < 1)
            problems.Add($"{path}:MaxInputCharacters is {MaxInputCharacters}; it must be positive.");
        if (string.IsNullOrWhiteSpace(BatchCompletionWindow))
            problems.Add($"{path}:BatchCompletionWindow is empty; OpenAI accepts 24h.");
        LlmJobProvidersOptions.ValidateRetry(Retry, $"{path}:Retry", problems);
    }
}

/// <summary>Section <c>LlmJobs:Providers:Simulated</c>.</summary>
public sealed class SimulatedProviderOptions
{
    public const string ProviderName = "simulated";

    public bool Enabled { get; set; } = true;

    /// <summary>Same seed and item id give the same decision and the same processing time.</summary>
    public int Seed { get; set; } = 1;

    public string DefaultModel { get; set; } = "simulated-flagger";

    /// <summary>Shortest time from submission until an item is finished.</summary>
    public TimeSpan MinLatency { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest time from submission until an item is finished; each item gets a value in between.</summary>
    public TimeSpan MaxLatency { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Share of items (0..1) that end failed with a permanent <c>simulated_failure</c>.</summary>
    public double FailureRate { get; set; } = 0.02;

    /// <summary>Share of calls (0..1) answered with a transient 429, to exercise back-off.</summary>
    public double RateLimitRate { get; set; }

    /// <summary>Retry-After sent with a simulated 429.</summary>
    public TimeSpan RateLimitRetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Share of succeeded items (0..1) whose decision is flagged.</summary>
    public double FlaggedRate { get; set; } = 0.2;

    /// <summary>A batch still unfinished this long after submission expires; its unfinished items fail with <c>batch_expired</c>.</summary>
    public TimeSpan BatchCompletionWindow { get; set; } = TimeSpan.FromHours(24);

    public int MaxItemsPerBatch { get; set; } = OpenAiProviderOptions.BatchLineLimit;

    public int MaxInputCharacters { get; set; } = 100_000;

    public LlmRetrySettings Retry { get; set; } = new();

    internal void Validate(string path, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(DefaultModel))
            problems.Add($"{path}:DefaultModel is empty.");
        if (MinLatency < TimeSpan.Zero)
            problems.Add($"{path}:MinLatency is {MinLatency}; it cannot be negative.");
        if (MaxLatency < MinLatency)
            problems.Add($"{path}:MaxLatency ({MaxLatency}) is shorter than {path}:MinLatency ({MinLatency}).");
        RequireRate(FailureRate, $"{path}:FailureRate", problems);
        RequireRate(RateLimitRate, $"{path}:RateLimitRate", problems);
        RequireRate(FlaggedRate, $"{path}:FlaggedRate", problems);
        if (RateLimitRetryAfter < TimeSpan.Zero)
            problems.Add($"{path}:RateLimitRetryAfter is {RateLimitRetryAfter}; it cannot be negative.");
        LlmJobProvidersOptions.RequirePositive(BatchCompletionWindow, $"{path}:BatchCompletionWindow", problems);
        if (MaxItemsPerBatch < 1)
            problems.Add($"{path}:MaxItemsPerBatch is {MaxItemsPerBatch}; it must be positive.");
        if (MaxInputCharacters < 1)
            problems.Add($"{path}:MaxInputCharacters is {MaxInputCharacters}; it must be positive.");
        LlmJobProvidersOptions.ValidateRetry(Retry, $"{path}:Retry", problems);
    }

    private static void RequireRate(double value, string path, List<string> problems)
    {
        if (!double.IsFinite(value) || value is < 0 or > 1)
            problems.Add($"{path} is {value}; it must be between 0 and 1.");
    }
}
