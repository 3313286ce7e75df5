using System.Text.Json;
using System.Text.Json.Serialization;
using Refit;

namespace Sagas.PromptAnalyses.Platforms.Claude;

/// <summary>
/// Anthropic Messages API. The version header is pinned: 2026-10-21 rejects parameters this client may send, so an
/// upgrade must be a deliberate change here.
/// </summary>
[Headers("anthropic-version: " + AnthropicVersion)]
public interface IClaudeApi
{
    public const string AnthropicVersion = "2023-06-01";

    [Post("/v1/messages")]
    Task<HttpResponseMessage> CreateMessageAsync([Body(buffered: true)] ClaudeMessageRequest request, CancellationToken cancellationToken);
}

public sealed record ClaudeMessageRequest(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("max_tokens")] int MaxTokens,
    [property: JsonPropertyName("messages")] IReadOnlyList<ClaudeMessage> Messages,
    [property: JsonPropertyName("tools")] IReadOnlyList<ClaudeWebSearchTool> Tools);

public sealed record ClaudeMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content);

/// <summary>Serialises as <c>{"type":"web_search_20250305","name":"web_search","max_uses":3}</c>.</summary>
public sealed record ClaudeWebSearchTool
{
    [JsonPropertyName("type")]
    public string Type { get; init; } = "web_search_20250305";

    [JsonPropertyName("name")]
    public string Name { get; init; } = "web_search";

    [JsonPropertyName("max_uses")]
    public required int MaxUses { get; init; }
}

internal sealed class ClaudeMessageResponse
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("model")]
    public string? Model { get; set; }

    [JsonPropertyName("content")]
    public List<ClaudeContentBlock>? Content { get; set; }

    [JsonPropertyName("stop_reason")]
    public string? StopReason { get; set; }

    [JsonPropertyName("usage")]
    public ClaudeUsage? Usage { get; set; }
}

internal sealed class ClaudeContentBlock
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("text")]
    public string? Text { get; set; }

    [JsonPropertyName("citations")]
    public List<ClaudeCitation>? Citations { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    /// <summary>server_tool_use input, e.g. {"query": "..."}.</summary>
    [JsonPropertyName("input")]
    public JsonElement? Input { get; set; }

    /// <summary>web_search_tool_result content: an array of results, or an error object.</summary>
    [JsonPropertyName("content")]
    public JsonElement? Content { get; set; }
}

internal sealed class ClaudeCitation
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("url")]
    public string? Url { get; set; }

    [JsonPropertyName("title")]
    public string? Title { get; set; }

    [JsonPropertyName("cited_text")]
    public string? CitedText { get; set; }
}

internal sealed class ClaudeUsage
{
    [JsonPropertyName("input_tokens")]
    public long InputTokens { get; set; }

    [JsonPropertyName("output_tokens")]
    public long OutputTokens { get; set; }

    [JsonPropertyName("cache_creation_input_tokens")]
    public long? CacheCreationInputTokens { get; set; }

    [JsonPropertyName("cache_read_input_tokens")]
    public long? CacheReadInputTokens { get; set; }

    [JsonPropertyName("server_tool_use")]
    public ClaudeServerToolUsage? ServerToolUse { get; set; }
}

internal sealed class ClaudeServerToolUsage
{
    [JsonPropertyName("web_search_requests")]
    public int? WebSearchRequests { get; set; }
}
