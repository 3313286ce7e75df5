// The Responses API types are marked experimental in OpenAI 2.15.0; the wire API itself is stable and this is the
// only SDK surface that offers the hosted web search tool.
#pragma warning disable OPENAI001

using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using OpenAI;
using OpenAI.Responses;
using Sagas.Core.Http;
using Sagas.PromptAnalyses.Platforms.Http;
using Sagas.Modules.Usage;

namespace Sagas.PromptAnalyses.Platforms.OpenAi;

/// <summary>OpenAI through the official SDK: one synchronous (non-background) Responses API call with web search.</summary>
internal sealed class OpenAiPlatform : IAnalysisPlatform
{
    public const string HttpClientName = "sagas-platform-openai";

    private readonly OpenAiPlatformOptions _options;
    private readonly PriceTable _prices;
    private readonly TimeProvider _time;
    private readonly ResponsesClient _client;

    public OpenAiPlatform(IHttpClientFactory httpClients, PlatformsOptions options, PriceTable prices, TimeProvider time)
    {
        _options = options.OpenAi;
        _prices = prices;
        _time = time;
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = new Uri(_options.BaseUrl.TrimEnd('/') + "/v1"),

            // Our retry policy owns retries; the SDK would otherwise retry 429/5xx three times behind our limiter's back.
            RetryPolicy = new ClientRetryPolicy(0),
            NetworkTimeout = _options.Timeout,
            Transport = new HttpClientPipelineTransport(httpClients.CreateClient(HttpClientName)),
        };
        _client = new OpenAIClient(new ApiKeyCredential(_options.ApiKey ?? ""), clientOptions).GetResponsesClient();
    }

    public string Name => PlatformNames.OpenAi;

    public bool IsSimulated => false;

    public string DefaultModel => _options.Model;

    public async Task<PlatformAnswer> AskAsync(string prompt, string? model = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prompt);
        var modelToAsk = string.IsNullOrWhiteSpace(model) ? DefaultModel : model.Trim();
        using var activity = PlatformCall.StartActivity(Name, modelToAsk);
        var started = _time.GetTimestamp();
        var request = new CreateResponseOptions
        {
            Model = modelToAsk,
            InputItems = { ResponseItem.CreateUserMessageItem(prompt) },
            Tools = { ResponseTool.CreateWebSearchTool() },

            // Answers are persisted by us; nothing needs to be fetched from OpenAI later.
            StoredOutputEnabled = false,
        };

        ClientResult<ResponseResult> result;
        try
        {
            result = await _client.CreateResponseAsync(request, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException ex)
        {
            throw Fail(PlatformErrorKind.Timeout, true, $"No answer within {_options.TimeoutSeconds}s.", RateLimitSnapshot.None(_time.GetUtcNow()), inner: ex);
        }
        catch (ClientResultException ex) when (ex.GetRawResponse() is { } raw && raw.Status >= 400)
        {
            var rateLimit = RateLimits(raw);
            var body = raw.Content?.ToString() ?? "";
            var json = PlatformCall.TryParseJson(body);
            var code = json?.StringAt("error", "code") ?? json?.StringAt("error", "type");
            var message = json?.StringAt("error", "message") ?? (string.IsNullOrWhiteSpace(body) ? ex.Message : body);
            var (kind, transient) = PlatformCall.ClassifyStatus(raw.Status);

            // insufficient_quota is a 429 too, but waiting does not add credit.
            if (PlatformCall.IsQuotaCode(code))
                (kind, transient) = (PlatformErrorKind.QuotaExceeded, false);
            throw Fail(kind, transient, message, rateLimit, raw.Status, code, ex);
        }
        catch (ClientResultException ex) when (ex.GetRawResponse() is null or { Status: 0 })
        {
            throw Fail(PlatformErrorKind.Network, true, ex.InnerException?.Message ?? ex.Message, RateLimitSnapshot.None(_time.GetUtcNow()), inner: ex);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException or NullReferenceException or ClientResultException)
        {
            // A 2xx body the SDK could not read. The provider may have billed the answer, so it is not retried.
            throw Fail(PlatformErrorKind.InvalidResponse, false, $"Unreadable OpenAI response: {ex.Message}", RateLimitSnapshot.None(_time.GetUtcNow()), inner: ex);
        }

        var elapsed = _time.GetElapsedTime(started);
        var now = _time.GetUtcNow();
        var raw2xx = result.GetRawResponse();
        var limits = RateLimits(raw2xx);
        ProviderReply reply;
        try
        {
            reply = Read(result.Value, modelToAsk);
        }
        catch (ProviderReplyFailure ex)
        {
            throw Fail(ex.Kind, ex.IsTransient, ex.Message, limits, raw2xx.Status, ex.Code, ex);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or NullReferenceException)
        {
            throw Fail(PlatformErrorKind.InvalidResponse, false, $"Unreadable OpenAI response: {ex.Message}", limits, raw2xx.Status, inner: ex);
        }

        return PlatformCall.Answer(Name, false, reply, elapsed, limits, _prices, now, activity);

        PlatformCallException Fail(
            PlatformErrorKind kind, bool transient, string message, RateLimitSnapshot rateLimit,
            int? status = null, string? code = null, Exception? inner = null) =>
            PlatformCall.Failure(
                Name, modelToAsk, kind, transient, message, rateLimit, _time.GetElapsedTime(started), activity,
                status, code, apiKey: _options.ApiKey, inner: inner);
    }

    private RateLimitSnapshot RateLimits(PipelineResponse response) =>
        RateLimitHeaders.ParseOpenAi(name => response.Headers.TryGetValue(name, out var value) ? value : null, _time.GetUtcNow());

    /// <summary>Newer responses list <c>queries</c>; older ones (and many proxies) still send the single <c>query</c>.</summary>
    private static IEnumerable<string> QueriesOf(WebSearchSearchAction action)
    {
        if (action.Queries is { Count: > 0 } queries)
            return queries;
#pragma warning disable CS0618 // Obsolete in the SDK, but still what the wire carries for single searches.
        return action.Query is { } query ? [query] : [];
#pragma warning restore CS0618
    }

    private static ProviderReply Read(ResponseResult response, string requestedModel)
    {
        if (response.Status == ResponseStatus.Failed)
        {
            var code = response.Error?.Code.ToString();
            var transient = code is "server_error" or "rate_limit_exceeded";
            throw new ProviderReplyFailure(PlatformErrorKind.RunFailed, transient, code, response.Error?.Message ?? "OpenAI reports the response as failed.");
        }

        if (response.Status is ResponseStatus.Cancelled)
            throw new ProviderReplyFailure(PlatformErrorKind.RunFailed, true, "cancelled", "OpenAI cancelled the response.");

        var citations = new List<RawCitation>();
        var searches = 0;
        var queries = new List<string>();
        foreach (var item in response.OutputItems)
        {
            switch (item)
            {
                case WebSearchCallResponseItem search:
                    searches++;
                    if (search.Action is WebSearchSearchAction action)
                        queries.AddRange(QueriesOf(action));
                    break;
                case MessageResponseItem message:
                    citations.AddRange(message.Content
                        .Where(part => part.Kind == ResponseContentPartKind.OutputText)
                        .SelectMany(part => part.OutputTextAnnotations ?? [])
                        .OfType<UriCitationMessageAnnotation>()
                        .Select(annotation => new RawCitation(annotation.Uri?.OriginalString, annotation.Title)));
                    break;
            }
        }

        var warnings = new List<string>();
        var finish = response.Status?.ToString().ToLowerInvariant() ?? "unknown";
        if (response.Status == ResponseStatus.Incomplete)
        {
            finish = $"incomplete:{response.IncompleteStatusDetails?.Reason?.ToString() ?? "unknown"}";
            warnings.Add($"answer cut short: {finish}");
        }

        var usage = response.Usage ?? throw new JsonException("usage is missing.");
        return new ProviderReply
        {
            Model = response.Model ?? requestedModel,
            Text = response.GetOutputText() ?? "",
            InputTokens = usage.InputTokenCount,
            CachedInputTokens = usage.InputTokenDetails?.CachedTokenCount ?? 0,
            OutputTokens = usage.OutputTokenCount,
            TotalTokens = usage.TotalTokenCount,
            Citations = citations,
            ResponseId = response.Id,
            FinishReason = finish,
            WebSearchCalls = searches,
            SearchQueries = queries,
            Warnings = warnings,
        };
    }
}
