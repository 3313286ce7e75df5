using System.Text;
using System.Text.Json;
using Sagas.Core.Http;
using Sagas.PromptAnalyses.Platforms.Http;
using Sagas.Modules.Usage;

namespace Sagas.PromptAnalyses.Platforms.Claude;

/// <summary>Anthropic Claude through the Messages API with the server-side web search tool.</summary>
internal sealed class ClaudePlatform(IClaudeApi api, PlatformsOptions options, PriceTable prices, TimeProvider time)
    : HttpAnalysisPlatform(options.Claude, prices, time)
{
    private readonly ClaudePlatformOptions _options = options.Claude;

    public override string Name => PlatformNames.Claude;

    protected override Task<HttpResponseMessage> SendAsync(string prompt, string model, CancellationToken cancellationToken) =>
        api.CreateMessageAsync(
            new ClaudeMessageRequest(
                model,
                _options.MaxOutputTokens,
                [new ClaudeMessage("user", prompt)],
                [new ClaudeWebSearchTool { MaxUses = _options.MaxWebSearches }]),
            cancellationToken);

    protected override RateLimitSnapshot ParseRateLimit(Func<string, string?> header, DateTimeOffset now) =>
        RateLimitHeaders.ParseAnthropic(header, now);

    protected override ProviderFailure ClassifyFailure(int status, PlatformErrorKind kind, bool transient, string body)
    {
        var json = PlatformCall.TryParseJson(body);
        var type = json?.StringAt("error", "type");
        var message = json?.StringAt("error", "message") ?? (string.IsNullOrWhiteSpace(body) ? $"HTTP {status}" : body);
        (kind, transient) = type switch
        {
            "overloaded_error" => (PlatformErrorKind.Overloaded, true),
            "rate_limit_error" => (PlatformErrorKind.RateLimited, true),
            "api_error" => (PlatformErrorKind.ServerError, true),
            "billing_error" => (PlatformErrorKind.QuotaExceeded, false),
            "authentication_error" => (PlatformErrorKind.Authentication, false),
            "permission_error" => (PlatformErrorKind.PermissionDenied, false),
            "not_found_error" => (PlatformErrorKind.NotFound, false),
            // Anthropic reports an exhausted prepaid balance as a 400 invalid_request_error.
            "invalid_request_error" when message.Contains("credit balance", StringComparison.OrdinalIgnoreCase) => (PlatformErrorKind.QuotaExceeded, false),
            _ => (kind, transient),
        };
        return new ProviderFailure(kind, transient, message, type);
    }

    protected override ProviderReply ParseReply(string body, string requestedModel)
    {
        var response = JsonSerializer.Deserialize<ClaudeMessageResponse>(body)
            ?? throw new JsonException("The body is JSON null.");
        if (response.Type is not null && response.Type != "message" || response.Content is null)
            throw new JsonException($"Expected a message with content, got type '{response.Type}'.");

        var text = new StringBuilder();
        var citations = new List<RawCitation>();
        var queries = new List<string>();
        var warnings = new List<string>();
        foreach (var block in response.Content)
        {
            switch (block.Type)
            {
                case "text":
                    text.Append(block.Text);
                    citations.AddRange((block.Citations ?? [])
                        .Where(citation => citation.Type == "web_search_result_location")
                        .Select(citation => new RawCitation(citation.Url, citation.Title, citation.CitedText)));
                    break;
                case "server_tool_use" when block.Name == "web_search":
                    if (block.Input is { ValueKind: JsonValueKind.Object } toolInput && toolInput.StringAt("query") is { } query)
                        queries.Add(query);
                    break;
                case "web_search_tool_result" when block.Content is { ValueKind: JsonValueKind.Object } error:
                    // A failed search is reported in-band; the answer is still usable, so it is kept as a warning.
                    warnings.Add($"web search failed: {error.StringAt("error_code") ?? "unknown"}");
                    break;
            }
        }

        if (response.StopReason is "pause_turn" or "max_tokens")
            warnings.Add($"answer cut short: stop_reason {response.StopReason}");

        var usage = response.Usage ?? throw new JsonException("usage is missing.");
        var input = usage.InputTokens + (usage.CacheCreationInputTokens ?? 0) + (usage.CacheReadInputTokens ?? 0);
        return new ProviderReply
        {
            Model = response.Model ?? requestedModel,
            Text = text.ToString(),
            InputTokens = input,
            OutputTokens = usage.OutputTokens,
            // Reads from the prompt cache are part of the input above; the ledger prices them at the cached rate.
            CachedInputTokens = usage.CacheReadInputTokens ?? 0,
            Citations = citations,
            ResponseId = response.Id,
            FinishReason = response.StopReason,
            WebSearchCalls = usage.ServerToolUse?.WebSearchRequests ?? queries.Count,
            SearchQueries = queries,
            Warnings = warnings,
        };
    }
}
