using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Sagas.LlmJobs.Providers;
using Sagas.LlmJobs.Providers.OpenAi;

namespace Sagas.Components.Tests.LlmJobs.Providers;

/// <summary>OpenAI response shapes as the API returns them (Responses, Files, Batches), and a provider pointed at a stub.</summary>
internal static class OpenAiStub
{
    public const string ApiKey = "sk-test-0123456789abcdef";

    public static OpenAiLlmJobProvider Provider(Uri stubAddress, Action<OpenAiProviderOptions>? configure = null)
    {
        var options = new OpenAiProviderOptions
        {
            Enabled = true,
            BaseUrl = stubAddress.ToString().TrimEnd('/'),
            ApiKey = ApiKey,
            DefaultModel = "gpt-6-luna",
            RequestTimeout = TimeSpan.FromSeconds(30),
            Retry = new LlmRetrySettings { MaxRetryAttempts = 0, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromSeconds(5) },
        };
        configure?.Invoke(options);
        return new OpenAiLlmJobProvider(options, TimeProvider.System, NullLogger<OpenAiLlmJobProvider>.Instance);
    }

    public static LlmItemRequest Item(string id, string input = "Buy cheap watches at example.test!!!") =>
        new(id, null, "Decide whether the text must be flagged.", input);

    public static async Task Write(HttpContext context, int status, string body, params (string Name, string Value)[] headers)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        foreach (var (name, value) in headers)
            context.Response.Headers[name] = value;
        await context.Response.WriteAsync(body);
    }

    public static string Decision(bool flagged = true, string category = "spam", double confidence = 0.93, string reason = "Advertises counterfeit goods.") =>
        JsonSerializer.Serialize(new { flagged, category, confidence, reason });

    /// <summary>A response object; <paramref name="outputText"/> becomes one assistant message when given.</summary>
    public static string Response(
        string id,
        string status,
        string? outputText = null,
        string? itemId = "item-1",
        object? error = null,
        object? incompleteDetails = null,
        string? refusal = null)
    {
        var output = new List<object>();
        if (outputText is not null || refusal is not null)
        {
            object part = refusal is not null
                ? new { type = "refusal", refusal }
                : new { type = "output_text", text = outputText, annotations = Array.Empty<object>(), logprobs = Array.Empty<object>() };
            output.Add(new { id = "msg_" + id, type = "message", status = "completed", role = "assistant", content = new[] { part } });
        }

        var finished = status is "completed" or "incomplete";
        var response = new Dictionary<string, object?>
        {
            ["id"] = id,
            ["object"] = "response",
            ["created_at"] = 1763900000,
            ["status"] = status,
            ["background"] = true,
            ["error"] = error,
            ["incomplete_details"] = incompleteDetails,
            ["instructions"] = "Decide whether the text must be flagged.",
            ["max_output_tokens"] = null,
            ["max_tool_calls"] = null,
            ["model"] = "gpt-6-luna-2026-08-01",
            ["output"] = output,
            ["parallel_tool_calls"] = true,
            ["previous_response_id"] = null,
            ["reasoning"] = new { effort = (string?)null, summary = (string?)null },
            ["service_tier"] = "default",
            ["store"] = true,
            ["temperature"] = 1.0,
            ["text"] = new { format = new { type = "json_schema", name = FlagDecision.SchemaName, schema = JsonDocument.Parse(FlagDecision.JsonSchema).RootElement, strict = true }, verbosity = "medium" },
            ["tool_choice"] = "auto",
            ["tools"] = Array.Empty<object>(),
            ["top_logprobs"] = 0,
            ["top_p"] = 1.0,
            ["truncation"] = "disabled",
            ["usage"] = finished
                ? new { input_tokens = 182, input_tokens_details = new { cached_tokens = 0 }, output_tokens = 41, output_tokens_details = new { reasoning_tokens = 0 }, total_tokens = 223 }
                : null,
            ["user"] = null,
            ["metadata"] = itemId is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["item_id"] = itemId },
        };
        return JsonSerializer.Serialize(response);
    }

    public static string Error(string message, string type, string? code, string? param = null) =>
        JsonSerializer.Serialize(new { error = new { message, type, param, code } });

    public static string File(string id, long bytes, string filename = "sagas.jsonl", string purpose = "batch") =>
        JsonSerializer.Serialize(new
        {
            id,
            @object = "file",
            bytes,
            created_at = 1763900000,
            expires_at = 1766492000,
            filename,
            purpose,
            status = "processed",
            status_details = (string?)null,
        });

    public static string Batch(
        string id,
        string status,
        int total = 0,
        int completed = 0,
        int failed = 0,
        string? outputFileId = null,
        string? errorFileId = null,
        object? errors = null,
        string reference = "job-1/1",
        long createdAt = 1763900000)
    {
        long? at(bool set) => set ? 1763900100 : null;
        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["id"] = id,
            ["object"] = "batch",
            ["endpoint"] = "/v1/responses",
            ["model"] = "gpt-6-luna-2026-08-01",
            ["errors"] = errors,
            ["input_file_id"] = "file-input1",
            ["completion_window"] = "24h",
            ["status"] = status,
            ["output_file_id"] = outputFileId,
            ["error_file_id"] = errorFileId,
            ["created_at"] = createdAt,
            ["in_progress_at"] = at(status is not "validating"),
            ["expires_at"] = 1763986400,
            ["finalizing_at"] = at(status is "finalizing" or "completed"),
            ["completed_at"] = at(status is "completed"),
            ["failed_at"] = at(status is "failed"),
            ["expired_at"] = at(status is "expired"),
            ["cancelling_at"] = at(status is "cancelling" or "cancelled"),
            ["cancelled_at"] = at(status is "cancelled"),
            ["request_counts"] = new { total, completed, failed },
            ["usage"] = new { input_tokens = 0, output_tokens = 0, total_tokens = 0 },
            ["metadata"] = new Dictionary<string, string> { ["reference"] = reference },
        });
    }

    /// <summary>A page of <c>GET /v1/batches</c>: batch objects, newest first.</summary>
    public static string BatchList(IReadOnlyList<string> batches, bool hasMore = false) =>
        "{\"object\":\"list\",\"data\":[" + string.Join(",", batches) + "],\"first_id\":" + (batches.Count == 0 ? "null" : JsonSerializer.Serialize(IdOf(batches[0])))
        + ",\"last_id\":" + (batches.Count == 0 ? "null" : JsonSerializer.Serialize(IdOf(batches[^1]))) + ",\"has_more\":" + (hasMore ? "true" : "false") + "}";

    private static string IdOf(string batch)
    {
        using var document = JsonDocument.Parse(batch);
        return document.RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>An output-file line for a finished request.</summary>
    public static string OutputLine(string customId, string responseBody, int statusCode = 200) =>
        JsonSerializer.Serialize(new
        {
            id = "batch_req_" + customId,
            custom_id = customId,
            response = new { status_code = statusCode, request_id = "req_" + customId, body = JsonDocument.Parse(responseBody).RootElement },
            error = (object?)null,
        });

    /// <summary>An error-file line for a request that never ran (expired, cancelled).</summary>
    public static string ErrorLine(string customId, string code, string message) =>
        JsonSerializer.Serialize(new
        {
            id = "batch_req_" + customId,
            custom_id = customId,
            response = (object?)null,
            error = new { code, message },
        });
}
