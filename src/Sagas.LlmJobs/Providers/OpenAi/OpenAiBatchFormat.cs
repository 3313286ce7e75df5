// OpenAI 2.15.0 marks the Responses types experimental (OPENAI001). Only the files in this folder use them, behind
// ILlmJobProvider, so an SDK change stays contained here.
#pragma warning disable OPENAI001

using System.Buffers;
using System.ClientModel.Primitives;
using System.Text.Json;
using Sagas.Core.Http;

namespace Sagas.LlmJobs.Providers.OpenAi;

/// <summary>
/// The Batch API's wire formats: input JSONL lines, the batch object, and output/error file lines. Batch lines target
/// <c>/v1/responses</c>, so a batch item is built and read exactly like a background response.
/// </summary>
internal static class OpenAiBatchFormat
{
    public const string Endpoint = "/v1/responses";

    /// <summary>One input line, newline included: <c>{"custom_id","method","url","body"}</c>.</summary>
    public static byte[] InputLine(LlmItemRequest item, string defaultModel, int? maxOutputTokens)
    {
        var body = ModelReaderWriter.Write(OpenAiResponseMapper.BuildCreateOptions(item, defaultModel, maxOutputTokens, background: false));
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("custom_id", item.ItemId);
            writer.WriteString("method", "POST");
            writer.WriteString("url", Endpoint);
            writer.WritePropertyName("body");

            // Re-written rather than copied raw: JSONL needs the body on one line whatever the SDK or schema text contains.
            using var bodyDocument = JsonDocument.Parse(body);
            bodyDocument.WriteTo(writer);
            writer.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    public static BinaryData CreateBatchBody(string inputFileId, string completionWindow, string reference) =>
        BinaryData.FromObjectAsJson(new Dictionary<string, object>
        {
            ["input_file_id"] = inputFileId,
            ["endpoint"] = Endpoint,
            ["completion_window"] = completionWindow,
            ["metadata"] = new Dictionary<string, string> { ["reference"] = MetadataReference(reference) },
        });

    /// <summary>The reference as OpenAI stores it: metadata values are limited to 512 characters.</summary>
    public static string MetadataReference(string reference) => reference.Length > 512 ? reference[..512] : reference;

    /// <summary>The <c>metadata.reference</c> of a batch object, if it has one.</summary>
    public static string? ReferenceOf(JsonElement batch) =>
        batch.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
            ? OpenAiResponseMapper.StringOrNull(metadata, "reference")
            : null;

    public static DateTimeOffset? CreatedAt(JsonElement batch) =>
        batch.TryGetProperty("created_at", out var created) && created.ValueKind == JsonValueKind.Number && created.TryGetInt64(out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    public static LlmBatchStatus ReadBatch(BinaryData json, RateLimitSnapshot rateLimit)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var id = OpenAiResponseMapper.StringOrNull(root, "id") ?? throw new JsonException("The batch object has no id.");
        var statusWord = OpenAiResponseMapper.StringOrNull(root, "status") ?? "unknown";

        var counts = new LlmBatchRequestCounts(0, 0, 0);
        if (root.TryGetProperty("request_counts", out var requestCounts) && requestCounts.ValueKind == JsonValueKind.Object)
            counts = new LlmBatchRequestCounts(IntOrZero(requestCounts, "total"), IntOrZero(requestCounts, "completed"), IntOrZero(requestCounts, "failed"));

        var errors = new List<LlmProviderError>();
        if (root.TryGetProperty("errors", out var errorList) && errorList.ValueKind == JsonValueKind.Object
            && errorList.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
        {
            foreach (var error in data.EnumerateArray())
            {
                var line = error.TryGetProperty("line", out var lineValue) && lineValue.ValueKind == JsonValueKind.Number && lineValue.TryGetInt32(out var lineNumber) ? $" (line {lineNumber})" : string.Empty;
                errors.Add(new LlmProviderError(
                    LlmErrorKind.Permanent,
                    OpenAiResponseMapper.StringOrNull(error, "code") ?? "batch_error",
                    (OpenAiResponseMapper.StringOrNull(error, "message") ?? "The batch failed.") + line));
            }
        }

        return new LlmBatchStatus(
            id,
            StateOf(statusWord),
            statusWord,
            counts,
            OpenAiResponseMapper.StringOrNull(root, "output_file_id"),
            OpenAiResponseMapper.StringOrNull(root, "error_file_id"),
            errors,
            rateLimit);
    }

    /// <summary>Unknown future statuses count as in progress: polling on is safe, declaring an end is not.</summary>
    public static LlmBatchState StateOf(string status) => status switch
    {
        "validating" => LlmBatchState.Validating,
        "in_progress" => LlmBatchState.InProgress,
        "finalizing" => LlmBatchState.Finalizing,
        "completed" => LlmBatchState.Completed,
        "failed" => LlmBatchState.Failed,
        "expired" => LlmBatchState.Expired,
        "cancelling" => LlmBatchState.Cancelling,
        "cancelled" => LlmBatchState.Cancelled,
        _ => LlmBatchState.InProgress,
    };

    /// <summary>
    /// Adds the lines of one output or error file to <paramref name="results"/>. A line that is not JSON or names no
    /// item goes to <paramref name="unattributed"/>; a line that names an item but cannot be read fails that item.
    /// Nothing here throws on bad content.
    /// </summary>
    public static void ReadResultFile(string fileId, BinaryData content, Dictionary<string, LlmBatchItemResult> results, List<UnattributedBatchLine> unattributed)
    {
        var remaining = content.ToMemory();
        var lineNumber = 0;
        while (!remaining.IsEmpty)
        {
            lineNumber++;
            var end = remaining.Span.IndexOf((byte)'\n');
            var line = end < 0 ? remaining : remaining[..end];
            remaining = end < 0 ? ReadOnlyMemory<byte>.Empty : remaining[(end + 1)..];
            AddLine(fileId, lineNumber, line, results, unattributed);
        }
    }

    /// <summary>
    /// <see cref="ReadResultFile(string, BinaryData, Dictionary{string, LlmBatchItemResult}, List{UnattributedBatchLine})"/>
    /// over a stream, a line at a time: memory holds one read buffer and the line being assembled, never the file.
    /// </summary>
    public static async Task ReadResultFileAsync(
        string fileId, Stream content, Dictionary<string, LlmBatchItemResult> results, List<UnattributedBatchLine> unattributed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var buffer = new byte[64 * 1024];
        var partial = new ArrayBufferWriter<byte>();
        var lineNumber = 0;
        int read;
        while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
        {
            var chunk = buffer.AsMemory(0, read);
            while (true)
            {
                var end = chunk.Span.IndexOf((byte)'\n');
                if (end < 0)
                {
                    partial.Write(chunk.Span);
                    break;
                }

                if (partial.WrittenCount == 0)
                {
                    AddLine(fileId, ++lineNumber, chunk[..end], results, unattributed);
                }
                else
                {
                    partial.Write(chunk.Span[..end]);
                    AddLine(fileId, ++lineNumber, partial.WrittenMemory, results, unattributed);
                    partial.ResetWrittenCount();
                }

                chunk = chunk[(end + 1)..];
            }
        }

        if (partial.WrittenCount > 0)
            AddLine(fileId, ++lineNumber, partial.WrittenMemory, results, unattributed);
    }

    /// <summary>Success wins over failure: a duplicate error line for a finished item must not undo its decision.</summary>
    public static void Merge(Dictionary<string, LlmBatchItemResult> results, LlmBatchItemResult result)
    {
        if (!results.TryGetValue(result.ItemId, out var existing) || (existing.Status != LlmItemStatus.Succeeded && result.Status == LlmItemStatus.Succeeded))
            results[result.ItemId] = result;
    }

    private static void AddLine(string fileId, int lineNumber, ReadOnlyMemory<byte> line, Dictionary<string, LlmBatchItemResult> results, List<UnattributedBatchLine> unattributed)
    {
        if (line.Span.Trim(" \t\r"u8).IsEmpty)
            return;

        var result = ReadResultLine(line, out var problem);
        if (result is null)
        {
            unattributed.Add(new UnattributedBatchLine(fileId, lineNumber, problem!));
            return;
        }

        Merge(results, result);
    }

    private static LlmBatchItemResult? ReadResultLine(ReadOnlyMemory<byte> line, out string? problem)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            problem = $"Not JSON: {ex.Message}";
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            var itemId = root.ValueKind == JsonValueKind.Object ? OpenAiResponseMapper.StringOrNull(root, "custom_id") : null;
            if (string.IsNullOrEmpty(itemId))
            {
                problem = "The line has no custom_id.";
                return null;
            }

            problem = null;
            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                var code = OpenAiResponseMapper.StringOrNull(error, "code") ?? "batch_line_error";
                var message = OpenAiResponseMapper.StringOrNull(error, "message") ?? "The provider reported an error for this line.";
                return Failed(itemId, new LlmProviderError(LlmErrorClassifier.ForItemCode(code), code, message));
            }

            if (!root.TryGetProperty("response", out var response) || response.ValueKind != JsonValueKind.Object
                || !response.TryGetProperty("status_code", out var statusCodeValue) || statusCodeValue.ValueKind != JsonValueKind.Number
                || !statusCodeValue.TryGetInt32(out var statusCode)
                || !response.TryGetProperty("body", out var body))
            {
                return Failed(itemId, Malformed("The line has neither an error nor a response with status_code and body."));
            }

            if (statusCode is < 200 or > 299)
            {
                var (code, message) = OpenAiResponseMapper.ReadErrorBody(body);
                return Failed(itemId, new LlmProviderError(
                    LlmErrorClassifier.ForHttpStatus(statusCode, code), code ?? $"http_{statusCode}", message ?? $"The request failed with HTTP {statusCode}.", statusCode));
            }

            try
            {
                var parsed = OpenAiResponseMapper.ReadResponse(BinaryData.FromString(body.GetRawText()));
                var (status, decision, itemError) = OpenAiResponseMapper.Interpret(parsed);
                if (!status.IsTerminal())
                    return Failed(itemId, Malformed($"The response in the output file is still '{OpenAiResponseMapper.ProviderStatusWord(parsed.Status)}'."));

                var usage = parsed.Usage is { } tokens ? new LlmTokenUsage(tokens.InputTokenCount, tokens.OutputTokenCount, tokens.InputTokenDetails?.CachedTokenCount ?? 0) : null;
                return new LlmBatchItemResult(itemId, status, decision, usage, itemError);
            }
            catch (Exception ex) when (ex is JsonException or FormatException or ArgumentException or InvalidOperationException or KeyNotFoundException)
            {
                return Failed(itemId, Malformed($"The response body is not a response object: {ex.Message}"));
            }
        }
    }

    private static LlmBatchItemResult Failed(string itemId, LlmProviderError error) => new(itemId, LlmItemStatus.Failed, null, null, error);

    private static LlmProviderError Malformed(string message) => new(LlmErrorKind.Permanent, LlmErrorCodes.MalformedBatchLine, message);

    private static int IntOrZero(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number : 0;
}
