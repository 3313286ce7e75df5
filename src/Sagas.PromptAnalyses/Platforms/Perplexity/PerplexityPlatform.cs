using System.Text;
using System.Text.Json;
using Sagas.Core.Http;
using Sagas.PromptAnalyses.Platforms.Http;
using Sagas.Modules.Usage;

namespace Sagas.PromptAnalyses.Platforms.Perplexity;

/// <summary>Perplexity Agent API with the web_search tool.</summary>
internal sealed class PerplexityPlatform(IPerplexityApi api, PlatformsOptions options, PriceTable prices, TimeProvider time)
    : HttpAnalysisPlatform(options.Perplexity, prices, time)
{
    public override string Name => PlatformNames.Perplexity;

    protected override Task<HttpResponseMessage> SendAsync(string prompt, string model, CancellationToken cancellationToken) =>
        api.CreateResponseAsync(new PerplexityAgentRequest(model, prompt, [PerplexityTool.WebSearch]), cancellationToken);

    /// <summary>Perplexity's Agent API is OpenAI-compatible, rate-limit headers included when it sends them.</summary>
    protected override RateLimitSnapshot ParseRateLimit(Func<string, string?> header, DateTimeOffset now) =>
        RateLimitHeaders.ParseOpenAi(header, now);

    protected override ProviderFailure ClassifyFailure(int status, PlatformErrorKind kind, bool transient, string body)
    {
        var json = PlatformCall.TryParseJson(body);
        var code = json?.StringAt("error", "code") ?? json?.StringAt("error", "type");
        var message = json?.StringAt("error", "message")
            ?? json?.StringAt("detail")
            ?? (string.IsNullOrWhiteSpace(body) ? $"HTTP {status}" : body);
        if (PlatformCall.IsQuotaCode(code))
            (kind, transient) = (PlatformErrorKind.QuotaExceeded, false);
        return new ProviderFailure(kind, transient, message, code);
    }

    protected override ProviderReply ParseReply(string body, string requestedModel)
    {
        var response = JsonSerializer.Deserialize<PerplexityAgentResponse>(body)
            ?? throw new JsonException("The body is JSON null.");

        // A failed run still comes back as HTTP 200: only the status tells.
        switch (response.Status)
        {
            case "completed":
                break;
            case "failed":
                var code = response.Error?.Code ?? response.Error?.Type;
                var quota = PlatformCall.IsQuotaCode(code);
                throw new ProviderReplyFailure(
                    quota ? PlatformErrorKind.QuotaExceeded : PlatformErrorKind.RunFailed,
                    !quota,
                    code,
                    response.Error?.Message ?? "Perplexity reports the run as failed without a message.");
            default:
                throw new ProviderReplyFailure(
                    PlatformErrorKind.RunFailed, true, response.Status,
                    $"Perplexity answered with status '{response.Status}', not completed.");
        }

        var output = response.Output ?? throw new JsonException("output is missing.");
        var text = new StringBuilder();
        var citations = new List<RawCitation>();
        var queries = new List<string>();
        var searchItems = 0;
        foreach (var item in output)
        {
            switch (item.Type)
            {
                case "message":
                    foreach (var part in (item.Content ?? []).Where(part => part.Type == "output_text"))
                        text.Append(part.Text);
                    break;
                case "search_results":
                    searchItems++;
                    queries.AddRange(item.Queries ?? []);
                    citations.AddRange((item.Results ?? []).Select(result => new RawCitation(result.Url, result.Title, result.Snippet)));
                    break;
            }
        }

        var usage = response.Usage ?? throw new JsonException("usage is missing.");
        var searches = usage.ToolCallsDetails is { } tools && tools.TryGetValue("web_search", out var webSearch) && webSearch.Invocation is { } invocations
            ? invocations
            : searchItems;

        // The price table adds its own per-search price, so the provider's tool charges are taken out of its total.
        var tokenCost = usage.Cost?.TotalCost is { } total ? total - (usage.Cost.ToolCallsCost ?? 0m) : (decimal?)null;
        return new ProviderReply
        {
            Model = response.Model ?? requestedModel,
            Text = text.ToString(),
            InputTokens = usage.InputTokens,
            OutputTokens = usage.OutputTokens,
            TotalTokens = usage.TotalTokens,
            Citations = citations,
            ResponseId = response.Id,
            FinishReason = response.Status,
            WebSearchCalls = searches,
            SearchQueries = queries,
            ProviderReportedCost = usage.Cost?.TotalCost,
            ProviderTokenCost = tokenCost,
        };
    }
}
