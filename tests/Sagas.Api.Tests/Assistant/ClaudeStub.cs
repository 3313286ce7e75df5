using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Sagas.Components.Tests.Infrastructure;

namespace Sagas.Api.Tests.Assistant;

/// <summary>
/// Claude on the wire, twice: Anthropic's Messages API (<c>POST /v1/messages</c>, SSE when streaming) and Bedrock's
/// InvokeModel (<c>POST /model/{id}/invoke</c>, and <c>invoke-with-response-stream</c> framed as AWS EventStream).
/// Both answer from the same script, chosen by words in the question, so one set of specs runs against either.
/// </summary>
public static class ClaudeStub
{
    public const string CutAnswer = "The jobs are counted and then the connection drops.";

    public const string FinalAnswer = "There are **3** LLM jobs:\n\n- 2 failed\n- 1 completed";

    /// <param name="cut">Completed by the spec once the first words of a "cut the stream" answer arrived; the stub then drops the connection.</param>
    public static Task<HttpStub> StartAsync(Func<string, TaskCompletionSource> cut)
    {
        var throttled = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        return HttpStub.StartAsync(app =>
        {
            app.MapPost("/v1/messages", async (HttpContext context) =>
            {
                var body = await BodyAsync(context);
                await AnswerAsync(context, body, stream: body["stream"]?.GetValue<bool>() == true, bedrock: false, throttled, cut);
            });
            app.MapPost("/model/{model}/invoke", async (HttpContext context) => await AnswerAsync(context, await BodyAsync(context), stream: false, bedrock: true, throttled, cut));
            app.MapPost("/model/{model}/invoke-with-response-stream", async (HttpContext context) => await AnswerAsync(context, await BodyAsync(context), stream: true, bedrock: true, throttled, cut));
        });
    }

    /// <summary>How many requests carried <paramref name="words"/> (the question travels in every turn).</summary>
    public static List<RecordedRequest> About(this HttpStub stub, string words) =>
        stub.Requests.Where(r => r.Body.Contains(words, StringComparison.Ordinal)).ToList();

    private static async Task<JsonNode> BodyAsync(HttpContext context)
    {
        context.Request.Body.Position = 0;
        return (await JsonNode.ParseAsync(context.Request.Body))!;
    }

    private static async Task AnswerAsync(HttpContext context, JsonNode body, bool stream, bool bedrock, ConcurrentDictionary<string, bool> throttled, Func<string, TaskCompletionSource> cut)
    {
        var question = body["messages"]![0]!["content"] switch
        {
            JsonValue text => text.GetValue<string>(),
            JsonArray blocks => string.Concat(blocks.Select(b => b?["text"]?.GetValue<string>())),
            _ => "",
        };
        var turn = body["messages"]!.AsArray().Count(m => m?["role"]?.GetValue<string>() == "assistant");

        if (question.Contains("refuse with 400", StringComparison.Ordinal))
        {
            await ErrorAsync(context, 400, bedrock ? "ValidationException" : "invalid_request_error", "prompt contains account acct_secret_42");
            return;
        }

        if (question.Contains("refuse with 403", StringComparison.Ordinal))
        {
            await ErrorAsync(context, 403, bedrock ? "AccessDeniedException" : "permission_error", "key of account acct_secret_42 may not use this model");
            return;
        }

        // "throttle once" is answered 429 the first time only: the SDK's retry (after retry-after) gets the answer.
        if (question.Contains("throttle always", StringComparison.Ordinal)
            || (question.Contains("throttle once", StringComparison.Ordinal) && throttled.TryAdd(question, true)))
        {
            context.Response.Headers["retry-after"] = "1";
            await ErrorAsync(context, 429, bedrock ? "ThrottlingException" : "rate_limit_error", "Too many requests");
            return;
        }

        JsonObject message;
        if (question.Contains("cut the stream", StringComparison.Ordinal) && stream)
        {
            await StreamAsync(context, bedrock, Text(CutAnswer), cutAfterFirstDelta: cut(question));
            return;
        }

        if (question.Contains("write data", StringComparison.Ordinal) && turn == 0)
            message = ToolUse(("toolu_w1", "delete_llm_jobs", new JsonObject()), ("toolu_w2", "count_llm_jobs", new JsonObject { ["period"] = "all" }));
        else if (question.Contains("write data", StringComparison.Ordinal))
            message = Text("I can only read: there is no tool that deletes or changes data.");
        else if (turn == 0 && !question.Contains("no tools", StringComparison.Ordinal))
            message = ToolUse(("toolu_01", "count_llm_jobs", new JsonObject { ["period"] = "all", ["from"] = null, ["to"] = null }));
        else
            message = Text(FinalAnswer);

        if (stream)
        {
            await StreamAsync(context, bedrock, message, cutAfterFirstDelta: null);
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(message.ToJsonString());
    }

    private static JsonObject Message(JsonArray content, string stopReason) => new()
    {
        ["id"] = "msg_" + Guid.NewGuid().ToString("N")[..24],
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = "claude-stub-4-5",
        ["content"] = content,
        ["stop_reason"] = stopReason,
        ["stop_sequence"] = null,
        ["usage"] = new JsonObject { ["input_tokens"] = 1200, ["output_tokens"] = 80 },
    };

    private static JsonObject Text(string text) => Message([new JsonObject { ["type"] = "text", ["text"] = text }], "end_turn");

    private static JsonObject ToolUse(params (string Id, string Name, JsonObject Input)[] calls) =>
        Message([.. calls.Select(c => (JsonNode)new JsonObject { ["type"] = "tool_use", ["id"] = c.Id, ["name"] = c.Name, ["input"] = c.Input })], "tool_use");

    private static async Task ErrorAsync(HttpContext context, int status, string type, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (type.EndsWith("Exception", StringComparison.Ordinal))
        {
            // Bedrock's own error shape.
            context.Response.Headers["x-amzn-ErrorType"] = type + ":http://internal.amazon.com/coral/com.amazon.bedrock/";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new { message }));
            return;
        }

        await context.Response.WriteAsync(JsonSerializer.Serialize(new { type = "error", error = new { type, message } }));
    }

    /// <summary>The message as Messages-API stream events: start, one block at a time in deltas, stop.</summary>
    private static IEnumerable<JsonObject> Events(JsonObject message)
    {
        var start = (JsonObject)message.DeepClone();
        start["content"] = new JsonArray();
        start["stop_reason"] = null;
        start["usage"] = new JsonObject { ["input_tokens"] = 1200, ["output_tokens"] = 1 };
        yield return new JsonObject { ["type"] = "message_start", ["message"] = start };

        var index = 0;
        foreach (var block in message["content"]!.AsArray())
        {
            if (block!["type"]!.GetValue<string>() == "text")
            {
                yield return new JsonObject { ["type"] = "content_block_start", ["index"] = index, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } };
                foreach (var piece in Pieces(block["text"]!.GetValue<string>()))
                    yield return new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = piece } };
            }
            else
            {
                yield return new JsonObject
                {
                    ["type"] = "content_block_start", ["index"] = index,
                    ["content_block"] = new JsonObject { ["type"] = "tool_use", ["id"] = block["id"]!.GetValue<string>(), ["name"] = block["name"]!.GetValue<string>(), ["input"] = new JsonObject() },
                };
                yield return new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = block["input"]!.ToJsonString() } };
            }

            yield return new JsonObject { ["type"] = "content_block_stop", ["index"] = index++ };
        }

        yield return new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject { ["stop_reason"] = message["stop_reason"]!.GetValue<string>(), ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = 80 },
        };
        yield return new JsonObject { ["type"] = "message_stop" };
    }

    private static IEnumerable<string> Pieces(string text)
    {
        for (var i = 0; i < text.Length; i += 7)
            yield return text.Substring(i, Math.Min(7, text.Length - i));
    }

    private static async Task StreamAsync(HttpContext context, bool bedrock, JsonObject message, TaskCompletionSource? cutAfterFirstDelta)
    {
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        if (bedrock)
        {
            context.Response.ContentType = "application/vnd.amazon.eventstream";
            context.Response.Headers["x-amzn-bedrock-content-type"] = "application/json";
        }
        else
        {
            context.Response.ContentType = "text/event-stream";
        }

        foreach (var streamed in Events(message))
        {
            var json = streamed.ToJsonString();
            if (bedrock)
                await context.Response.Body.WriteAsync(EventStream.Chunk(json));
            else
                await context.Response.WriteAsync($"event: {streamed["type"]!.GetValue<string>()}\ndata: {json}\n\n");
            await context.Response.Body.FlushAsync();

            if (cutAfterFirstDelta is not null && streamed["type"]!.GetValue<string>() == "content_block_delta")
            {
                // The connection drops mid-answer, as a proxy or a network would, once the first words are known to have arrived.
                await cutAfterFirstDelta.Task.WaitAsync(TimeSpan.FromSeconds(30));
                context.Abort();
                return;
            }
        }
    }
}

/// <summary>AWS EventStream framing, as Bedrock streams InvokeModel answers: each event a "chunk" whose payload carries the Anthropic event, base-64.</summary>
internal static class EventStream
{
    public static byte[] Chunk(string eventJson)
    {
        var payload = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { bytes = Convert.ToBase64String(Encoding.UTF8.GetBytes(eventJson)), p = "abcdefgh" }));
        var headers = new MemoryStream();
        WriteHeader(headers, ":event-type", "chunk");
        WriteHeader(headers, ":content-type", "application/json");
        WriteHeader(headers, ":message-type", "event");
        var headerBytes = headers.ToArray();

        var total = 12 + headerBytes.Length + payload.Length + 4;
        var frame = new byte[total];
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(0), total);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(4), headerBytes.Length);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), Crc32(frame.AsSpan(0, 8)));
        headerBytes.CopyTo(frame, 12);
        payload.CopyTo(frame, 12 + headerBytes.Length);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(total - 4), Crc32(frame.AsSpan(0, total - 4)));
        return frame;
    }

    private static void WriteHeader(Stream stream, string name, string value)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var valueBytes = Encoding.UTF8.GetBytes(value);
        stream.WriteByte((byte)nameBytes.Length);
        stream.Write(nameBytes);
        stream.WriteByte(7); // string
        stream.WriteByte((byte)(valueBytes.Length >> 8));
        stream.WriteByte((byte)valueBytes.Length);
        stream.Write(valueBytes);
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }

        return ~crc;
    }
}
