using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.LlmJobs.Providers;

namespace Sagas.Integration.Tests.LlmJobs;

/// <summary>
/// Kestrel on 127.0.0.1 with a free port standing in for api.openai.com, and the JSON shapes the real API answers
/// with (response, file, batch objects, batch output lines, error bodies) so the real OpenAI provider reads them.
/// </summary>
public sealed class OpenAiLoopback : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OpenAiLoopback(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>Without the trailing /v1, as <c>LlmJobs:Providers:OpenAi:BaseUrl</c> wants it.</summary>
    public string BaseUrl { get; }

    public static async Task<OpenAiLoopback> StartAsync(Action<WebApplication> routes)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        routes(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new OpenAiLoopback(app, address.TrimEnd('/'));
    }

    public static async Task Write(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body);
    }

    public static string Decision(bool flagged, string category, double confidence, string reason) =>
        JsonSerializer.Serialize(new { flagged, category, confidence, reason });

    public static string Response(string id, string status, string? itemId, string? outputText = null, bool background = true)
    {
        var output = outputText is null
            ? Array.Empty<object>()
            : [new
            {
                id = "msg_" + id,
                type = "message",
                status = "completed",
                role = "assistant",
                content = new[] { new { type = "output_text", text = outputText, annotations = Array.Empty<object>(), logprobs = Array.Empty<object>() } },
            }];
        var finished = status is "completed" or "incomplete";
        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["id"] = id,
            ["object"] = "response",
            ["created_at"] = 1763900000,
            ["status"] = status,
            ["background"] = background,
            ["error"] = null,
            ["incomplete_details"] = null,
            ["instructions"] = "Decide whether the text must be flagged.",
            ["max_output_tokens"] = null,
            ["model"] = "gpt-6-luna-2026-08-01",
            ["output"] = output,
            ["parallel_tool_calls"] = true,
            ["previous_response_id"] = null,
            ["reasoning"] = new { effort = (string?)null, summary = (string?)null },
            ["service_tier"] = "default",
            ["store"] = background,
            ["temperature"] = 1.0,
            ["text"] = new { format = new { type = "json_schema", name = FlagDecision.SchemaName, schema = JsonDocument.Parse(FlagDecision.JsonSchema).RootElement, strict = true }, verbosity = "medium" },
            ["tool_choice"] = "auto",
            ["tools"] = Array.Empty<object>(),
            ["top_p"] = 1.0,
            ["truncation"] = "disabled",
            ["usage"] = finished
                ? new { input_tokens = 182, input_tokens_details = new { cached_tokens = 0 }, output_tokens = 41, output_tokens_details = new { reasoning_tokens = 0 }, total_tokens = 223 }
                : null,
            ["user"] = null,
            ["metadata"] = itemId is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["item_id"] = itemId },
        });
    }

    public static string Error(string message, string type, string? code, string? param = null) =>
        JsonSerializer.Serialize(new { error = new { message, type, param, code } });

    public static string File(string id, long bytes, string filename, string purpose) =>
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

    public static string Batch(string id, string status, string inputFileId, int total, int completed, int failed, string? outputFileId = null, string? errorFileId = null)
    {
        long? at(bool set) => set ? 1763900100 : null;
        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["id"] = id,
            ["object"] = "batch",
            ["endpoint"] = "/v1/responses",
            ["model"] = "gpt-6-luna-2026-08-01",
            ["errors"] = null,
            ["input_file_id"] = inputFileId,
            ["completion_window"] = "24h",
            ["status"] = status,
            ["output_file_id"] = outputFileId,
            ["error_file_id"] = errorFileId,
            ["created_at"] = 1763900000,
            ["in_progress_at"] = at(status is not "validating"),
            ["expires_at"] = 1763986400,
            ["finalizing_at"] = at(status is "finalizing" or "completed"),
            ["completed_at"] = at(status is "completed"),
            ["failed_at"] = null,
            ["expired_at"] = null,
            ["cancelling_at"] = null,
            ["cancelled_at"] = null,
            ["request_counts"] = new { total, completed, failed },
            ["metadata"] = new Dictionary<string, string>(),
        });
    }

    public static string OutputLine(string customId, int statusCode, string body) =>
        JsonSerializer.Serialize(new
        {
            id = "batch_req_" + customId,
            custom_id = customId,
            response = new { status_code = statusCode, request_id = "req_" + customId, body = JsonDocument.Parse(body).RootElement },
            error = (object?)null,
        });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
