using System.Text.Json.Serialization;
using Refit;

namespace Sagas.PromptAnalyses.Platforms.Gemini;

/// <summary>Google Gemini API (generativelanguage), authenticated with the x-goog-api-key header.</summary>
public interface IGeminiApi
{
    [Post("/v1beta/models/{model}:generateContent")]
    Task<HttpResponseMessage> GenerateContentAsync(string model, [Body(buffered: true)] GeminiRequest request, CancellationToken cancellationToken);
}

public sealed record GeminiRequest(
    [property: JsonPropertyName("contents")] IReadOnlyList<GeminiContent> Contents,
    [property: JsonPropertyName("tools")] IReadOnlyList<GeminiTool> Tools);

public sealed record GeminiContent(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("parts")] IReadOnlyList<GeminiPart> Parts);

public sealed record GeminiPart([property: JsonPropertyName("text")] string Text);

/// <summary>Serialises as <c>{"google_search":{}}</c>: grounding with Google Search.</summary>
public sealed record GeminiTool
{
    [JsonPropertyName("google_search")]
    public GoogleSearch GoogleSearchTool { get; init; } = new();

    public sealed record GoogleSearch;
}

internal sealed class GeminiResponse
{
    [JsonPropertyName("candidates")]
    public List<GeminiCandidate>? Candidates { get; set; }

    [JsonPropertyName("promptFeedback")]
    public GeminiPromptFeedback? PromptFeedback { get; set; }

    [JsonPropertyName("usageMetadata")]
    public GeminiUsage? UsageMetadata { get; set; }

    [JsonPropertyName("modelVersion")]
    public string? ModelVersion { get; set; }

    [JsonPropertyName("responseId")]
    public string? ResponseId { get; set; }
}

internal sealed class GeminiCandidate
{
    [JsonPropertyName("content")]
    public GeminiResponseContent? Content { get; set; }

    [JsonPropertyName("finishReason")]
    public string? FinishReason { get; set; }

    [JsonPropertyName("groundingMetadata")]
    public GeminiGroundingMetadata? GroundingMetadata { get; set; }
}

internal sealed class GeminiResponseContent
{
    [JsonPropertyName("parts")]
    public List<GeminiResponsePart>? Parts { get; set; }
}

internal sealed class GeminiResponsePart
{
    [JsonPropertyName("text")]
    public string? Text { get; set; }

    /// <summary>Thought summaries are not part of the answer.</summary>
    [JsonPropertyName("thought")]
    public bool? Thought { get; set; }
}

internal sealed class GeminiGroundingMetadata
{
    [JsonPropertyName("webSearchQueries")]
    public List<string>? WebSearchQueries { get; set; }

    [JsonPropertyName("groundingChunks")]
    public List<GeminiGroundingChunk>? GroundingChunks { get; set; }
}

internal sealed class GeminiGroundingChunk
{
    [JsonPropertyName("web")]
    public GeminiWebChunk? Web { get; set; }
}

internal sealed class GeminiWebChunk
{
    [JsonPropertyName("uri")]
    public string? Uri { get; set; }

    [JsonPropertyName("title")]
    public string? Title { get; set; }

    [JsonPropertyName("domain")]
    public string? Domain { get; set; }
}

internal sealed class GeminiPromptFeedback
{
    [JsonPropertyName("blockReason")]
    public string? BlockReason { get; set; }
}

internal sealed class GeminiUsage
{
    [JsonPropertyName("promptTokenCount")]
    public long? PromptTokenCount { get; set; }

    [JsonPropertyName("candidatesTokenCount")]
    public long? CandidatesTokenCount { get; set; }

    [JsonPropertyName("cachedContentTokenCount")]
    public long? CachedContentTokenCount { get; set; }

    [JsonPropertyName("toolUsePromptTokenCount")]
    public long? ToolUsePromptTokenCount { get; set; }

    [JsonPropertyName("thoughtsTokenCount")]
    public long? ThoughtsTokenCount { get; set; }

    [JsonPropertyName("totalTokenCount")]
    public long? TotalTokenCount { get; set; }
}
