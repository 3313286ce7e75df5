using System.Text.Json;
using Sagas.Core.Http;
using Sagas.PromptAnalyses.Platforms.Http;
using Sagas.Modules.Usage;

namespace Sagas.PromptAnalyses.Platforms.Gemini;

/// <summary>Google Gemini generateContent with Google Search grounding.</summary>
internal sealed class GeminiPlatform(IGeminiApi api, PlatformsOptions options, PriceTable prices, TimeProvider time)
    : HttpAnalysisPlatform(options.Gemini, prices, time)
{
    public override string Name => PlatformNames.Gemini;

    protected override Task<HttpResponseMessage> SendAsync(string prompt, string model, CancellationToken cancellationToken) =>
        api.GenerateContentAsync(
            model.StartsWith("models/", StringComparison.Ordinal) ? model["models/".Length..] : model,
            new GeminiRequest([new GeminiContent("user", [new GeminiPart(prompt)])], [new GeminiTool()]),
            cancellationToken);

    protected override RateLimitSnapshot ParseRateLimit(Func<string, string?> header, DateTimeOffset now) =>
        RateLimitHeaders.ParseGemini(header, now);

    /// <summary>
    /// Google reports every 429 as RESOURCE_EXHAUSTED "quota"; per-minute quotas heal (transient, with RetryInfo's
    /// retryDelay), a per-day quota does not until tomorrow (permanent).
    /// </summary>
    protected override ProviderFailure ClassifyFailure(int status, PlatformErrorKind kind, bool transient, string body)
    {
        var json = PlatformCall.TryParseJson(body);
        var code = json?.StringAt("error", "status");
        var message = json?.StringAt("error", "message") ?? (string.IsNullOrWhiteSpace(body) ? $"HTTP {status}" : body);
        TimeSpan? retryDelay = null;
        var perDayQuota = false;
        if (json?.ValueKind == JsonValueKind.Object
            && json.Value.TryGetProperty("error", out var error)
            && error.ValueKind == JsonValueKind.Object
            && error.TryGetProperty("details", out var details)
            && details.ValueKind == JsonValueKind.Array)
        {
            foreach (var detail in details.EnumerateArray())
            {
                retryDelay ??= RateLimitHeaders.ParseProtobufDuration(detail.StringAt("retryDelay"));
                if (detail.ValueKind == JsonValueKind.Object
                    && detail.TryGetProperty("violations", out var violations)
                    && violations.ValueKind == JsonValueKind.Array)
                {
                    perDayQuota |= violations.EnumerateArray()
                        .Any(violation => violation.StringAt("quotaId")?.Contains("PerDay", StringComparison.OrdinalIgnoreCase) == true);
                }
            }
        }

        if (status == 429 && perDayQuota)
            (kind, transient) = (PlatformErrorKind.QuotaExceeded, false);
        return new ProviderFailure(kind, transient, message, code, retryDelay);
    }

    protected override ProviderReply ParseReply(string body, string requestedModel)
    {
        var response = JsonSerializer.Deserialize<GeminiResponse>(body)
            ?? throw new JsonException("The body is JSON null.");
        var candidate = response.Candidates?.FirstOrDefault();
        if (candidate is null)
        {
            if (response.PromptFeedback?.BlockReason is { } blockReason)
                throw new ProviderReplyFailure(PlatformErrorKind.ContentBlocked, false, blockReason, $"Gemini blocked the prompt: {blockReason}.");
            throw new JsonException("candidates is missing or empty.");
        }

        var text = string.Concat((candidate.Content?.Parts ?? []).Where(part => part.Thought != true).Select(part => part.Text));
        if (text.Length == 0 && candidate.FinishReason is "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII")
            throw new ProviderReplyFailure(PlatformErrorKind.ContentBlocked, false, candidate.FinishReason, $"Gemini returned no text: finishReason {candidate.FinishReason}.");

        var grounding = candidate.GroundingMetadata;
        var citations = (grounding?.GroundingChunks ?? [])
            .Where(chunk => chunk.Web is not null)
            .Select(chunk => new RawCitation(chunk.Web!.Uri, chunk.Web.Title, DomainHint: chunk.Web.Domain ?? chunk.Web.Title))
            .ToList();
        var warnings = new List<string>();
        if (candidate.FinishReason is not (null or "STOP"))
            warnings.Add($"finishReason {candidate.FinishReason}");

        var usage = response.UsageMetadata ?? throw new JsonException("usageMetadata is missing.");

        // Google bills tool-use prompt tokens as input and thinking tokens as output.
        var input = (usage.PromptTokenCount ?? 0) + (usage.ToolUsePromptTokenCount ?? 0);
        var output = (usage.CandidatesTokenCount ?? 0) + (usage.ThoughtsTokenCount ?? 0);
        return new ProviderReply
        {
            Model = response.ModelVersion ?? requestedModel,
            Text = text,
            InputTokens = input,
            OutputTokens = output,
            TotalTokens = usage.TotalTokenCount ?? input + output,
            // Google counts context-cache hits inside promptTokenCount, so they are part of the input above.
            CachedInputTokens = usage.CachedContentTokenCount ?? 0,
            Citations = citations,
            ResponseId = response.ResponseId,
            FinishReason = candidate.FinishReason,
            WebSearchCalls = grounding?.WebSearchQueries?.Count ?? 0,
            SearchQueries = grounding?.WebSearchQueries,
            Warnings = warnings,
        };
    }
}
