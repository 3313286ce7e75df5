using System.Text.Json.Serialization;
using Refit;

namespace Sagas.PromptAnalyses.Platforms.Perplexity;

/// <summary>
/// Perplexity Agent API (the Sonar chat completions API was retired on 2026-09-27). Unknown body fields are refused
/// with 400, so the request carries exactly model, input and tools.
/// </summary>
public interface IPerplexityApi
{
    [Post("/v1/agent")]
    Task<HttpResponseMessage> CreateResponseAsync([Body(buffered: true)] PerplexityAgentRequest request, CancellationToken cancellationToken);
}

public sealed record PerplexityAgentRequest(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("input")] string Input,
    [property: JsonPropertyName("tools")] IReadOnlyList<PerplexityTool> Tools);

public sealed record PerplexityTool([property: JsonPropertyName("type")] string Type)
{
    public static PerplexityTool WebSearch { get; } = new("web_search");
}

internal sealed class PerplexityAgentResponse
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("model")]
    public string? Model { get; set; }

    [JsonPropertyName("status")]
    public string? Status { get; set; }

    [JsonPropertyName("error")]
    public PerplexityError? Error { get; set; }

    [JsonPropertyName("output")]
    public List<PerplexityOutputItem>? Output { get; set; }

    [JsonPropertyName("usage")]
    public PerplexityUsage? Usage { get; set; }
}

internal sealed class PerplexityError
{
    [JsonPropertyName("message")]
    public string? Message { get; set; }

    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("code")]
    public string? Code { get; set; }
}

internal sealed class PerplexityOutputItem
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("status")]
    public string? Status { get; set; }

    [JsonPropertyName("content")]
    public List<PerplexityContentPart>? Content { get; set; }

    [JsonPropertyName("queries")]
    public List<string>? Queries { get; set; }

    [JsonPropertyName("results")]
    public List<PerplexitySearchResult>? Results { get; set; }
}

internal sealed class PerplexityContentPart
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("text")]
    public string? Text { get; set; }
}

internal sealed class PerplexitySearchResult
{
    [JsonPropertyName("url")]
    public string? Url { get; set; }

    [JsonPropertyName("title")]
    public string? Title { get; set; }

    [JsonPropertyName("snippet")]
    public string? Snippet { get; set; }

    [JsonPropertyName("date")]
    public string? Date { get; set; }
}

internal sealed class PerplexityUsage
{
    [JsonPropertyName("input_tokens")]
    public long InputTokens { get; set; }

    [JsonPropertyName("output_tokens")]
    public long OutputTokens { get; set; }

    [JsonPropertyName("total_tokens")]
    public long? TotalTokens { get; set; }

    [JsonPropertyName("cost")]
    public PerplexityCost? Cost { get; set; }

    [JsonPropertyName("tool_calls_details")]
    public Dictionary<string, PerplexityToolCallDetails>? ToolCallsDetails { get; set; }
}

internal sealed class PerplexityCost
{
    [JsonPropertyName("total_cost")]
    public decimal? TotalCost { get; set; }

    [JsonPropertyName("tool_calls_cost")]
    public decimal? ToolCallsCost { get; set; }
}

internal sealed class PerplexityToolCallDetails
{
    [JsonPropertyName("invocation")]
    public int? Invocation { get; set; }
}
