using System.ComponentModel.DataAnnotations;

namespace Sagas.Api.Assistant;

public sealed class AssistantOptions
{
    public const string SectionName = "Assistant";

    /// <summary><c>simulated</c> (offline, the embedded default), <c>openai</c>, <c>anthropic</c> or <c>bedrock</c>.</summary>
    [Required]
    public string Provider { get; set; } = "simulated";

    /// <summary>Longest prompt accepted, in characters.</summary>
    [Range(1, 100_000)]
    public int MaxPromptCharacters { get; set; } = 4_000;

    /// <summary>Model turns that may call tools before the model must answer with what it has.</summary>
    [Range(1, 20)]
    public int MaxToolRounds { get; set; } = 4;

    /// <summary>Tool calls allowed in one round; a model asking for more gets an error for the rest.</summary>
    [Range(1, 50)]
    public int MaxToolCallsPerRound { get; set; } = 8;

    /// <summary>Tool calls run for one question, over all its rounds; past it the model is stopped with a partial answer.</summary>
    [Range(1, 200)]
    public int MaxToolCallsPerQuestion { get; set; } = 16;

    /// <summary>Input plus output tokens one question may spend; no model turn starts once they are spent.</summary>
    [Range(1_000, 2_000_000)]
    public int MaxTokensPerQuestion { get; set; } = 60_000;

    /// <summary>Time one question may take, model turns and tools together; then it answers with what it has.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan MaxTimePerQuestion { get; set; } = TimeSpan.FromSeconds(90);

    public AssistantOpenAiOptions OpenAi { get; set; } = new();

    public AssistantAnthropicOptions Anthropic { get; set; } = new();

    public AssistantBedrockOptions Bedrock { get; set; } = new();
}

public sealed class AssistantOpenAiOptions
{
    /// <summary>API root without <c>/v1</c>, so a proxy, a compatible server or a local stub can stand in.</summary>
    public string BaseUrl { get; set; } = "https://api.openai.com";

    /// <summary>Secret; required with provider <c>openai</c>. Never logged.</summary>
    public string? ApiKey { get; set; }

    public string Model { get; set; } = "gpt-6-luna";

    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    [Range(16, 32_000)]
    public int MaxOutputTokens { get; set; } = 1_024;
}

/// <summary>Claude on Anthropic's own API.</summary>
public sealed class AssistantAnthropicOptions
{
    /// <summary>API root without <c>/v1</c>, so a proxy or a local stub can stand in.</summary>
    public string BaseUrl { get; set; } = "https://api.anthropic.com";

    /// <summary>Secret; required with provider <c>anthropic</c>. Never logged.</summary>
    public string? ApiKey { get; set; }

    public string Model { get; set; } = "claude-sonnet-4-5";

    /// <summary>One HTTP call, retries excluded.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    [Range(16, 32_000)]
    public int MaxOutputTokens { get; set; } = 1_024;

    /// <summary>The SDK's retries of a rate-limited (429, honouring <c>retry-after</c>), overloaded or unreachable call.</summary>
    [Range(0, 5)]
    public int MaxRetries { get; set; } = 2;
}

/// <summary>
/// Claude on Amazon Bedrock (InvokeModel), signed with the credentials the AWS SDK's default chain finds
/// (environment, profile, web identity, container or instance role): the questions stay inside the AWS account.
/// </summary>
public sealed class AssistantBedrockOptions
{
    /// <summary>Required with provider <c>bedrock</c>, e.g. <c>eu-central-1</c>.</summary>
    public string? Region { get; set; }

    /// <summary>A Bedrock model id or inference profile, e.g. <c>eu.anthropic.claude-sonnet-4-5-20250929-v1:0</c>.</summary>
    public string? Model { get; set; }

    /// <summary>Replaces <c>https://bedrock-runtime.{Region}.amazonaws.com</c> (a VPC endpoint, or a local stub in specs).</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>One HTTP call, retries excluded.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    [Range(16, 32_000)]
    public int MaxOutputTokens { get; set; } = 1_024;

    /// <summary>The SDK's retries of a throttled (429, honouring <c>retry-after</c>), overloaded or unreachable call.</summary>
    [Range(0, 5)]
    public int MaxRetries { get; set; } = 2;
}
