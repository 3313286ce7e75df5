using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sagas.Benchmarks.LlmPolling;

/// <summary>
/// A local stand-in for the OpenAI Responses API, run as a child process so that its CPU is not billed to the worker
/// being measured. POST /v1/responses answers "queued" at once; GET /v1/responses/{id} answers after a fixed latency,
/// "in_progress" until POST /control/complete, "completed" with a strict-JSON decision from then on (items whose id
/// starts with "w", the benchmark's warm-up, from the start).
/// GET /control/stats returns the counts.
/// </summary>
internal static class OpenAiPollingStub
{
    public const string Subcommand = "llm-openai-stub";

    public static async Task<int> RunAsync(string[] args)
    {
        var latency = TimeSpan.FromMilliseconds(args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();

        long gets = 0, posts = 0, completedAnswers = 0;
        long completeAtUnixMs = 0;
        var submitted = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var sequence = 0L;

        app.MapPost("/v1/responses", async (HttpContext context) =>
        {
            Interlocked.Increment(ref posts);
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            var itemId = body.RootElement.GetProperty("metadata").GetProperty("item_id").GetString()!;
            var id = "resp_" + Interlocked.Increment(ref sequence).ToString(CultureInfo.InvariantCulture);
            submitted[id] = itemId;
            await Write(context, Response(id, "queued", itemId, decision: null));
        });
        app.MapGet("/v1/responses/{id}", async (HttpContext context, string id) =>
        {
            Interlocked.Increment(ref gets);
            await Task.Delay(latency);
            if (!submitted.TryGetValue(id, out var itemId))
            {
                context.Response.StatusCode = 404;
                await Write(context, JsonSerializer.Serialize(new { error = new { message = $"No response found with id '{id}'.", type = "invalid_request_error", param = (string?)null, code = (string?)null } }));
                return;
            }

            var completeAt = Interlocked.Read(ref completeAtUnixMs);
            // Warm-up items ("w…") are completed from the start; the others from POST /control/complete on.
            var warmUp = itemId.StartsWith('w');
            var done = warmUp || (completeAt > 0 && DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() >= completeAt);
            if (done && !warmUp)
                Interlocked.Increment(ref completedAnswers);
            await Write(context, Response(id, done ? "completed" : "in_progress", itemId,
                done ? JsonSerializer.Serialize(new { flagged = false, category = "none", confidence = 0.7, reason = "Benchmark decision." }) : null));
        });
        app.MapPost("/control/complete", () =>
        {
            Interlocked.CompareExchange(ref completeAtUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 0);
            return Results.Json(new { completeAtUnixMs = Interlocked.Read(ref completeAtUnixMs) });
        });
        app.MapGet("/control/stats", () => Results.Json(new { gets = Interlocked.Read(ref gets), posts = Interlocked.Read(ref posts), completedAnswers = Interlocked.Read(ref completedAnswers) }));

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine("listening " + address.TrimEnd('/'));
        // The parent ends the stub by closing our standard input (or killing the process).
        await Console.In.ReadToEndAsync();
        await app.StopAsync();
        return 0;
    }

    private static Task Write(HttpContext context, string body)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body);
    }

    private static string Response(string id, string status, string itemId, string? decision)
    {
        var output = decision is null
            ? Array.Empty<object>()
            : [new
            {
                id = "msg_" + id,
                type = "message",
                status = "completed",
                role = "assistant",
                content = new[] { new { type = "output_text", text = decision, annotations = Array.Empty<object>(), logprobs = Array.Empty<object>() } },
            }];
        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["id"] = id,
            ["object"] = "response",
            ["created_at"] = 1763900000,
            ["status"] = status,
            ["background"] = true,
            ["error"] = null,
            ["incomplete_details"] = null,
            ["instructions"] = "Decide whether the text must be flagged.",
            ["model"] = "gpt-6-luna-2026-08-01",
            ["output"] = output,
            ["parallel_tool_calls"] = true,
            ["service_tier"] = "default",
            ["store"] = true,
            ["temperature"] = 1.0,
            ["tool_choice"] = "auto",
            ["tools"] = Array.Empty<object>(),
            ["top_p"] = 1.0,
            ["truncation"] = "disabled",
            ["usage"] = decision is null
                ? null
                : new { input_tokens = 182, input_tokens_details = new { cached_tokens = 0 }, output_tokens = 41, output_tokens_details = new { reasoning_tokens = 0 }, total_tokens = 223 },
            ["metadata"] = new Dictionary<string, string> { ["item_id"] = itemId },
        });
    }
}
