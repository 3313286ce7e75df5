using System.ComponentModel.DataAnnotations;

namespace Sagas.Api.Assistant;

public sealed class AssistantOptions
{
    public const string SectionName = "Assistant";

    /// <summary><c>simulated</c> (offline, the embedded default) or <c>openai</c>.</summary>
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

    public AssistantOpenAiOptions OpenAi { get; set; } = new();
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
